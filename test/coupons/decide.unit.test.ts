import * as assert from 'uvu/assert';
import { decideClose, decideIssue, decideUse, evolve, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { spec } from '../support/spec.ts';

const HOUR = 3_600_000;
const now = Date.parse('2026-12-01T09:00:00Z');
const couponId = '01937a4e-0000-7000-8000-000000000001';

function coupon(overrides: Partial<AdmissionCoupon> = {}): AdmissionCoupon {
  return {
    couponId, status: 'ACTIVE', totalQuantity: 2, issued: 0, usedCount: 0, cancelledCount: 0, revokedCount: 0, allowListVersion: 0,
    issueStartAt: now - HOUR, issueEndAt: now + HOUR, validFrom: now - HOUR, validUntil: now + 2 * HOUR,
    holders: new Map(), redemptions: new Map(), ...overrides,
  };
}

const issue = spec('decideIssue');
issue('given an open coupon with stock, the next in line gets the next sequence', () => {
  assert.equal(decideIssue(coupon({ issued: 1 }), 'bob', now), {
    outcome: 'ISSUED', sequence: 2,
    events: [{ type: 'CouponIssued', data: { issuedCouponId: `${couponId}.00000002`, userId: 'bob', validFrom: new Date(now - HOUR).toISOString(), validUntil: new Date(now + 2 * HOUR).toISOString() } }],
  });
});
issue('given no coupon, COUPON_NOT_FOUND', () => {
  assert.equal(decideIssue(undefined, 'bob', now), { outcome: 'COUPON_NOT_FOUND', events: [] });
});
issue('given the user holds one, ALREADY_ISSUED with theirs, even when sold out and closed', () => {
  const c = coupon({ issued: 2, status: 'CLOSED', holders: new Map([['bob', 2]]) });
  assert.equal(decideIssue(c, 'bob', now), { outcome: 'ALREADY_ISSUED', sequence: 2, events: [] });
});
issue('given a closed coupon, COUPON_CLOSED', () => {
  assert.equal(decideIssue(coupon({ status: 'CLOSED' }), 'bob', now).outcome, 'COUPON_CLOSED');
});
issue('the window is [start, end): before start ISSUE_NOT_STARTED, at end ISSUE_ENDED', () => {
  assert.equal(decideIssue(coupon({ issueStartAt: now + 1 }), 'bob', now).outcome, 'ISSUE_NOT_STARTED');
  assert.equal(decideIssue(coupon({ issueStartAt: now }), 'bob', now).outcome, 'ISSUED');
  assert.equal(decideIssue(coupon({ issueEndAt: now }), 'bob', now).outcome, 'ISSUE_ENDED');
});
issue('given all issued, SOLD_OUT', () => {
  assert.equal(decideIssue(coupon({ issued: 2 }), 'carol', now).outcome, 'SOLD_OUT');
});
issue('a required claim named like an object\'s own properties (constructor, toString…) matches only a claim the token carries', () => {
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    const c = coupon({ requiredClaims: JSON.parse(`{"${name}": ["gold"]}`) as Record<string, string[]> });
    assert.is(decideIssue(c, 'bob', now, {}).outcome, 'NOT_ELIGIBLE', `${name} absent`);
    assert.is(decideIssue(c, 'bob', now, JSON.parse(`{"${name}": "gold"}`) as Record<string, string>).outcome, 'ISSUED', `${name} held`);
  }
});
issue.run();

const use = spec('decideUse');
const held = () => coupon({ issued: 1, holders: new Map([['bob', 1]]) });
use('given the holder inside validity, USED', () => {
  assert.equal(decideUse(held(), { sequence: 1, userId: 'bob', orderId: 'o-1' }, now), {
    outcome: 'USED', generation: 1,
    events: [{ type: 'CouponUsed', data: { issuedCouponId: `${couponId}.00000001`, userId: 'bob', useSequence: 1, orderId: 'o-1', useGeneration: 1 } }],
  });
});
use('someone else\'s coupon, or a sequence never issued, is ISSUED_COUPON_NOT_FOUND', () => {
  assert.equal(decideUse(held(), { sequence: 1, userId: 'mallory' }, now).outcome, 'ISSUED_COUPON_NOT_FOUND');
  assert.equal(decideUse(held(), { sequence: 2, userId: 'bob' }, now).outcome, 'ISSUED_COUPON_NOT_FOUND');
  assert.equal(decideUse(undefined, { sequence: 1, userId: 'bob' }, now).outcome, 'ISSUED_COUPON_NOT_FOUND');
});
use('given it was used, ALREADY_USED with when, even after expiry', () => {
  const c = held();
  c.redemptions.set(1, { state: 'USED', at: now - 5, generation: 1, orderId: null, userId: 'bob' });
  assert.equal(decideUse(c, { sequence: 1, userId: 'bob' }, now + 10 * HOUR), { outcome: 'ALREADY_USED', usedAt: now - 5, events: [] });
});
use('validity is [from, until): before COUPON_NOT_YET_VALID, at until COUPON_EXPIRED', () => {
  assert.equal(decideUse({ ...held(), validFrom: now + 1 }, { sequence: 1, userId: 'bob' }, now).outcome, 'COUPON_NOT_YET_VALID');
  assert.equal(decideUse({ ...held(), validUntil: now }, { sequence: 1, userId: 'bob' }, now).outcome, 'COUPON_EXPIRED');
});
use('a closed coupon stays usable', () => {
  assert.equal(decideUse({ ...held(), status: 'CLOSED' }, { sequence: 1, userId: 'bob' }, now).outcome, 'USED');
});
use.run();

const close = spec('decideClose');
close('closes an active coupon once', () => {
  assert.equal(decideClose(coupon()), { outcome: 'CLOSED', events: [{ type: 'CouponIssuanceClosed', data: {} }] });
  assert.equal(decideClose(coupon({ status: 'CLOSED' })), { outcome: 'COUPON_CLOSED', events: [] });
  assert.equal(decideClose(undefined), { outcome: 'COUPON_NOT_FOUND', events: [] });
});
close.run();

const fold = spec('evolve');
const base = { version: 1 as const, couponId, meta: {} };
const history: CouponEvent[] = [
  { ...base, eventId: '01937a4e-0000-7000-8000-00000000000a', type: 'CouponCreated', occurredAt: '2026-12-01T08:00:00.000Z',
    data: { name: 'x', totalQuantity: 2, discount: { type: 'PERCENT', value: 10 }, issueStartAt: '2026-12-01T08:00:00.000Z',
      issueEndAt: '2026-12-01T10:00:00.000Z', validFrom: '2026-12-01T08:00:00.000Z', validUntil: '2026-12-02T08:00:00.000Z' } },
  { ...base, eventId: '01937a4e-0000-7000-8000-00000000000b', type: 'CouponIssued', occurredAt: '2026-12-01T08:10:00.000Z',
    data: { issuedCouponId: `${couponId}.00000001`, userId: 'bob', validFrom: '2026-12-01T08:00:00.000Z', validUntil: '2026-12-02T08:00:00.000Z' } },
  { ...base, eventId: '01937a4e-0000-7000-8000-00000000000c', type: 'CouponUsed', version: 3, occurredAt: '2026-12-01T08:20:00.000Z',
    data: { issuedCouponId: `${couponId}.00000001`, userId: 'bob', useSequence: 1, orderId: null, useGeneration: 1 } },
  { ...base, eventId: '01937a4e-0000-7000-8000-00000000000d', type: 'CouponIssuanceClosed', occurredAt: '2026-12-01T08:30:00.000Z', data: {} },
];
fold('given the history, the state answers as the scripts would', () => {
  const state = history.reduce<AdmissionCoupon | undefined>(evolve, undefined)!;
  assert.is(state.issued, 1);
  assert.is(state.status, 'CLOSED');
  assert.equal(decideIssue(state, 'bob', now), { outcome: 'ALREADY_ISSUED', sequence: 1, events: [] });
  assert.equal(decideUse(state, { sequence: 1, userId: 'bob' }, now), { outcome: 'ALREADY_USED', usedAt: Date.parse('2026-12-01T08:20:00.000Z'), events: [] });
});
fold('an event delivered twice changes nothing the second time', () => {
  const once = history.reduce<AdmissionCoupon | undefined>(evolve, undefined)!;
  const twice = [...history, history[1]!, history[2]!].reduce<AdmissionCoupon | undefined>(evolve, undefined)!;
  assert.equal({ ...twice, holders: [...twice.holders], redemptions: [...twice.redemptions] }, { ...once, holders: [...once.holders], redemptions: [...once.redemptions] });
});
fold.run();
