import * as assert from 'uvu/assert';
import { decide, evolve, type AdmissionCoupon, type CouponCommand, type Decision, type EventDraft } from '../../src/coupons/rules/coupon-rules.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';

type Answer<D> = D extends unknown ? Omit<D, 'events'> : never;

/**
 * A rule as a three-line spec: given these events (folded by the rules' own evolve), when this command at
 * this instant, then this decision (and, when named, these events).
 */
export function given(...events: CouponEvent[]) {
  const state = events.reduce<AdmissionCoupon | undefined>(evolve, undefined);
  return {
    when: <C extends CouponCommand>(command: C, at: string) => ({
      then: (expected: Answer<Decision<C>>, recorded?: EventDraft[]) => {
        const { events: made, ...decision } = decide(command, state, Date.parse(at));
        assert.equal(decision, expected);
        if (recorded) assert.equal(made, recorded);
        else if (made.length > 0 ? !MAY_RECORD.includes(expected.outcome) : MUST_RECORD.includes(expected.outcome)) assert.unreachable(`${expected.outcome} with ${made.length} event(s)`);
      },
    }),
  };
}

/** The outcomes that record something; every other one is a refusal or an answer that changes nothing. */
const MUST_RECORD: readonly string[] = ['CREATED', 'ISSUED', 'USED', 'USE_CANCELLED', 'CLOSED', 'STOCK_ADDED', 'WINDOW_CHANGED', 'ELIGIBILITY_CHANGED', 'CHUNK_ADDED', 'REPLACED', 'REMOVED'];
/** A revoke-unused chunk after the first records only what it revoked, which may be nothing. */
const MAY_RECORD: readonly string[] = [...MUST_RECORD, 'REVOKED'];
