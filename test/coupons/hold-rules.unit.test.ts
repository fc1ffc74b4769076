import * as assert from 'uvu/assert';
import { decide, evolve, type AdmissionCoupon, type EventDraft } from '../../src/coupons/rules/coupon-rules.ts';
import { recorded } from '../../src/coupons/rules/event-draft.ts';
import { HistoryAuditor } from '../../src/audit/history-auditor.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';

const MINUTE = 60_000;
const now = Date.parse('2026-12-01T09:00:00Z');
const couponId = '01937a4e-0000-7000-8000-000000000001';
const ic = `${couponId}.00000001`;
let ids = 0;

/** A coupon issued to ann (sequence 1), folded by the rules' own evolve from `then` events decided before. */
function coupon(): AdmissionCoupon {
  return {
    couponId, status: 'ACTIVE', totalQuantity: 2, issued: 1, usedCount: 0, cancelledCount: 0, revokedCount: 0, allowListVersion: 0,
    issueStartAt: now - 60 * MINUTE, issueEndAt: now + 60 * MINUTE, validFrom: now - 60 * MINUTE, validUntil: now + 120 * MINUTE,
    holders: new Map([['ann', 1]]), redemptions: new Map(),
  };
}

/** Folds a decision's events, as an executor records them at `at`. */
function fold(state: AdmissionCoupon, events: EventDraft[], at: number): AdmissionCoupon {
  for (const draft of events) {
    state = evolve(state, recorded(draft, { eventId: `01937a4e-0000-7000-8000-${String(++ids).padStart(12, '0')}`, couponId, occurredAt: new Date(at).toISOString() }))!;
  }
  return state;
}

/** Given ann's coupon held by order A at `now` for 10 minutes. */
function heldByA(): AdmissionCoupon {
  const c = coupon();
  return fold(c, decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'A', ttlMs: 10 * MINUTE }, c, now).events, now);
}

/** A field of an event's data, whatever its type. */
const field = (e: EventDraft, name: string): unknown => (e.data as Record<string, unknown>)[name];

const hold = spec('holds at checkout');
hold('given an unused coupon, when order A holds it, then HELD until the TTL, the first hold', () => {
  assert.equal(decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'A', ttlMs: 10 * MINUTE }, coupon(), now), {
    outcome: 'HELD', heldUntil: now + 10 * MINUTE,
    events: [{ type: 'CouponHeld', data: { issuedCouponId: ic, userId: 'ann', orderId: 'A', holdSequence: 1, heldUntilMs: now + 10 * MINUTE } }],
  });
});
hold('given A\'s hold, when order B holds or uses it, then 409 HELD and nothing recorded', () => {
  const c = heldByA();
  assert.equal(decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'B', ttlMs: MINUTE }, c, now + MINUTE), { outcome: 'HELD_ELSEWHERE', events: [] });
  assert.equal(decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'B' }, c, now + MINUTE), { outcome: 'HELD_ELSEWHERE', events: [] });
  assert.equal(decide({ type: 'UseCoupon', sequence: 1, userId: 'ann' }, c, now + MINUTE), { outcome: 'HELD_ELSEWHERE', events: [] });
});
hold('given A\'s hold, when A holds again, then the hold it has, not extended', () => {
  assert.equal(decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'A', ttlMs: 60 * MINUTE }, heldByA(), now + MINUTE), { outcome: 'ALREADY_HELD', heldUntil: now + 10 * MINUTE, events: [] });
});
hold('given A\'s hold, when A uses it, then the use confirms hold 1, which ends with it; a release is then ALREADY_USED', () => {
  const d = decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'A' }, heldByA(), now + MINUTE);
  assert.equal(d.events, [{ type: 'CouponUsed', data: { issuedCouponId: ic, userId: 'ann', useSequence: 1, orderId: 'A', useGeneration: 1, holdSequence: 1 } }]);
  const after = fold(heldByA(), d.events, now + MINUTE);
  assert.equal(after.holds?.get(1)?.ended, 'USED');
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, after, now + 2 * MINUTE), { outcome: 'ALREADY_USED', usedAt: now + MINUTE, events: [] });
});
hold('given A\'s hold lapsed, when B uses it, then the hold is ended as lapsed in the same step, before the use', () => {
  const d = decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'B' }, heldByA(), now + 10 * MINUTE);
  assert.equal(d.events.map((e) => e.type), ['CouponHoldEnded', 'CouponUsed']);
  assert.equal(d.events[0]!.data, { issuedCouponId: ic, userId: 'ann', orderId: 'A', holdSequence: 1, reason: 'EXPIRED' });
  assert.is('holdSequence' in d.events[1]!.data, false);
});
hold('given A\'s hold lapsed, when B holds it, then the lapse is ended and B\'s is hold 2', () => {
  const d = decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'B', ttlMs: MINUTE }, heldByA(), now + 11 * MINUTE);
  assert.equal(d.events.map((e) => [e.type, field(e, 'holdSequence')]), [['CouponHoldEnded', 1], ['CouponHeld', 2]]);
});
hold('a release: by A, RELEASED and ISSUED; again, ALREADY_RELEASED; by B while A holds, ORDER_MISMATCH; nothing held, NOT_HELD', () => {
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, coupon(), now), { outcome: 'NOT_HELD', events: [] });
  const c = heldByA();
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'B' }, c, now + MINUTE), { outcome: 'ORDER_MISMATCH', events: [] });
  const d = decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, c, now + MINUTE);
  assert.equal([d.outcome, 'status' in d && d.status, d.events.map((e) => field(e, 'reason'))], ['RELEASED', 'ISSUED', ['RELEASED']]);
  const released = fold(c, d.events, now + MINUTE);
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, released, now + 2 * MINUTE), { outcome: 'ALREADY_RELEASED', status: 'ISSUED', events: [] });
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'B' }, released, now + 2 * MINUTE), { outcome: 'NOT_HELD', events: [] });
  assert.equal(decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'B' }, released, now + 2 * MINUTE).outcome, 'USED');
});
hold('a release after the hold lapsed ends it as lapsed; after the validity, the coupon is EXPIRED', () => {
  const d = decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, heldByA(), now + 200 * MINUTE);
  assert.equal([d.outcome, 'status' in d && d.status, d.events.map((e) => field(e, 'reason'))], ['RELEASED', 'EXPIRED', ['EXPIRED']]);
});
hold('the timer: NOT_DUE before the hold\'s time, EXPIRED at it, NOT_HELD for another hold or once ended', () => {
  const c = heldByA();
  assert.equal(decide({ type: 'ExpireHold', sequence: 1, holdSequence: 1 }, c, now + 10 * MINUTE - 1), { outcome: 'NOT_DUE', events: [] });
  assert.equal(decide({ type: 'ExpireHold', sequence: 1, holdSequence: 2 }, c, now + 10 * MINUTE), { outcome: 'NOT_HELD', events: [] });
  const d = decide({ type: 'ExpireHold', sequence: 1, holdSequence: 1 }, c, now + 10 * MINUTE);
  assert.equal(d.outcome, 'EXPIRED');
  assert.equal(decide({ type: 'ExpireHold', sequence: 1, holdSequence: 1 }, fold(c, d.events, now + 10 * MINUTE), now + 11 * MINUTE), { outcome: 'NOT_HELD', events: [] });
});
hold('a hold follows the use\'s checks: not the holder\'s, used, revoked, outside the validity', () => {
  const c = coupon();
  const asked = (userId: string, at: number, state = c) => decide({ type: 'HoldCoupon', sequence: 1, userId, orderId: 'A', ttlMs: MINUTE }, state, at).outcome;
  assert.is(asked('bob', now), 'ISSUED_COUPON_NOT_FOUND');
  assert.is(asked('ann', now + 120 * MINUTE), 'COUPON_EXPIRED');
  assert.is(asked('ann', now - 61 * MINUTE), 'COUPON_NOT_YET_VALID');
  const used = fold(c, decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'X' }, c, now).events, now);
  assert.is(asked('ann', now + 1, used), 'ALREADY_USED');
  const revoked = fold(coupon(), decide({ type: 'RevokeUnused', holders: [['ann', 1]] }, coupon(), now).events, now);
  assert.is(asked('ann', now + 1, revoked), 'COUPON_REVOKED');
});
hold('a late copy of an older hold, or of an end, changes nothing', () => {
  const c = heldByA();
  const ended = fold(c, decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, c, now + MINUTE).events, now + MINUTE);
  const again = fold(ended, decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'B', ttlMs: MINUTE }, ended, now + 2 * MINUTE).events, now + 2 * MINUTE);
  const copy = (e: CouponEvent) => evolve(again, e)!;
  assert.equal(copy(f.held(1, 'ann', 'A', 1)).holds?.get(1), { orderId: 'B', userId: 'ann', until: now + 3 * MINUTE, holdSequence: 2 });
  assert.equal(copy(f.holdEnded(1, 'ann', 'A', 1, 'RELEASED')).holds?.get(1)?.ended, undefined);
});
hold('a release asked after the hold lapsed and another order used the coupon says it is USED, not ISSUED, nor ALREADY_USED for a use not its own', () => {
  const lapsedThenUsed = (() => {
    const c = heldByA();
    return fold(c, decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'B' }, c, now + 11 * MINUTE).events, now + 11 * MINUTE);
  })();
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, lapsedThenUsed, now + 12 * MINUTE), { outcome: 'ALREADY_RELEASED', status: 'USED', events: [] });
  let c = heldByA();
  c = fold(c, decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'A' }, c, now + MINUTE).events, now + MINUTE);
  c = fold(c, decide({ type: 'CancelUse', sequence: 1, orderId: 'A' }, c, now + 2 * MINUTE).events, now + 2 * MINUTE);
  c = fold(c, decide({ type: 'UseCoupon', sequence: 1, userId: 'ann', orderId: 'B' }, c, now + 3 * MINUTE).events, now + 3 * MINUTE);
  assert.equal(decide({ type: 'ReleaseHold', sequence: 1, orderId: 'A' }, c, now + 4 * MINUTE), { outcome: 'ALREADY_RELEASED', status: 'USED', events: [] });
});
hold('a revocation ends the coupon\'s hold with it; a coupon split into stock buckets offers no holds', () => {
  const c = heldByA();
  const revoked = fold(c, decide({ type: 'RevokeUnused', holders: [['ann', 1]] }, c, now + MINUTE).events, now + MINUTE);
  assert.is(revoked.holds?.get(1)?.ended, 'REVOKED');
  assert.is(decide({ type: 'HoldCoupon', sequence: 1, userId: 'ann', orderId: 'A', ttlMs: MINUTE }, { ...coupon(), bucketCount: 2 }, now).outcome, 'HOLDS_NOT_OFFERED');
});
hold.run();

const audit = spec('the auditor on holds');
const judged = (events: CouponEvent[]) => {
  const auditor = new HistoryAuditor();
  for (const e of events) auditor.add(e);
  return auditor;
};
audit('given a hold, its copy, and its confirming use, then no violation and one duplicate', () => {
  const held = f.held(1, 'a', 'o-1', 1);
  const auditor = judged([f.created(), f.issued(1, 'a'), held, held, f.used(1, 'a', 1, undefined, 'o-1', 1, 1)]);
  assert.equal([auditor.violations, auditor.duplicates], [[], 1]);
});
audit('a use by another order while held, a hold ended early, a second hold while one is in force: each a violation', () => {
  const use = judged([f.created(), f.issued(1, 'a'), f.held(1, 'a', 'o-1', 1), f.used(1, 'a', 1, undefined, 'o-2')]);
  assert.match(use.violations.join('\n'), /while another order held it/);
  const early = judged([f.created(), f.issued(1, 'a'), f.held(1, 'a', 'o-1', 1), f.holdEnded(1, 'a', 'o-1', 1, 'EXPIRED', '2026-12-02T07:51:00.000Z')]);
  assert.match(early.violations.join('\n'), /expired before its time/);
  const second = judged([f.created(), f.issued(1, 'a'), f.held(1, 'a', 'o-1', 1), f.held(1, 'a', 'o-2', 2, '2026-12-02T07:52:00.000Z')]);
  assert.match(second.violations.join('\n'), /HELD_ELSEWHERE/);
});
audit('a second end of an old hold under another id, and a hold placed over a lapsed one nobody ended, are violations', () => {
  const twice = judged([f.created(), f.issued(1, 'a'), f.held(1, 'a', 'o-1', 1), f.holdEnded(1, 'a', 'o-1', 1, 'RELEASED'),
    f.held(1, 'a', 'o-2', 2, '2026-12-02T07:56:00.000Z'), f.holdEnded(1, 'a', 'o-1', 1, 'RELEASED', '2026-12-02T07:57:00.000Z')]);
  assert.equal([twice.duplicates, /hold 1 ended, but it was not in force/.test(twice.violations.join('\n'))], [0, true]);
  const unended = judged([f.created(), f.issued(1, 'a'), f.held(1, 'a', 'o-1', 1), f.held(1, 'a', 'o-2', 2, '2026-12-02T08:30:00.000Z')]);
  assert.match(unended.violations.join('\n'), /held over a lapsed hold that no event ended/);
});
audit.run();
