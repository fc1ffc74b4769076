import * as assert from 'uvu/assert';
import { decide, evolve, type AdmissionCoupon, type CouponCommand, type Decision } from '../../src/coupons/rules/coupon-rules.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';

/**
 * A rule as a three-line spec: given these events (folded by the rules' own evolve), when this command at
 * this instant, then this decision.
 */
export function given(...events: CouponEvent[]) {
  const state = events.reduce<AdmissionCoupon | undefined>(evolve, undefined);
  return {
    when: <C extends CouponCommand>(command: C, at: string) => ({
      then: (expected: Decision<C>) => assert.equal(decide(command, state, Date.parse(at)), expected),
    }),
  };
}
