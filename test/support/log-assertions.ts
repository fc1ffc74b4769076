import * as assert from 'uvu/assert';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import type { Harness } from './api-harness.ts';

/** Asks for the coupon once per user, all at once; returns how many were issued. */
export async function issueMany(harness: Harness, couponId: string, users: string[]): Promise<number> {
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  const answers = await Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
  return answers.filter((a) => a.status === 201).length;
}

/**
 * The log as its readers see it: a relay that lost an answer (a broker that came back, a Redis master that
 * failed over between the send and the delete) sends a batch again, and every reader keeps the first copy of
 * an event id. Two different events for one decision would still show here.
 */
export function firstCopies(events: CouponEvent[]): CouponEvent[] {
  return [...new Map(events.map((e) => [e.eventId, e])).values()];
}

/** A coupon's history in the log: created first, each event once, its CouponIssued in admission order. */
export function assertExactlyOnceInOrder(events: CouponEvent[], issuedCount: number): void {
  const ids = events.map((e) => e.eventId);
  assert.is(new Set(ids).size, ids.length, 'no event appears twice');
  const issued = events.filter((e) => e.type === 'CouponIssued');
  assert.is(issued.length, issuedCount);
  const sequences = issued.map((e) => Number((e.data as { issuedCouponId: string }).issuedCouponId.split('.')[1]));
  assert.equal(sequences, [...sequences].sort((a, b) => a - b), 'CouponIssued events are in admission order');
  assert.is(events[0]!.type, 'CouponCreated', 'the coupon is created before anything happens to it');
}
