import type { CouponEvent } from '../../src/events/coupon-events.ts';

/** Builders for events as the log holds them, for given/when/then tests of pure functions. */
const couponId = '01937a4e-0000-7000-8000-0000000000c1';
let n = 0;
const eventId = () => `01937a4e-0000-7000-8000-${String(++n).padStart(12, '0')}`;
const issuedId = (sequence: number) => `${couponId}.${String(sequence).padStart(8, '0')}`;
const base = (at: string) => ({ eventId: eventId(), version: 1 as const, couponId, occurredAt: at, meta: {} });

export const fixtures = {
  couponId,
  created: (at = '2026-12-01T08:00:00.000Z', totalQuantity = 3): CouponEvent => ({
    ...base(at), type: 'CouponCreated',
    data: { name: 'Winter 10%', totalQuantity, discount: { type: 'PERCENT', value: 10 }, issueStartAt: '2026-12-01T08:00:00.000Z',
      issueEndAt: '2026-12-01T10:00:00.000Z', validFrom: '2026-12-01T08:00:00.000Z', validUntil: '2026-12-08T08:00:00.000Z' },
  }),
  issued: (sequence: number, userId: string, at = '2026-12-01T08:10:00.000Z', claims?: Record<string, string | string[]>): CouponEvent => ({
    ...base(at), type: 'CouponIssued',
    data: { issuedCouponId: `${couponId}.${String(sequence).padStart(8, '0')}`, userId, validFrom: '2026-12-01T08:00:00.000Z', validUntil: '2026-12-08T08:00:00.000Z', ...(claims ? { claims } : {}) },
  }),
  /** `holdSequence`: the use confirmed that hold of its order. */
  used: (sequence: number, userId: string, useSequence: number, at = '2026-12-02T08:00:00.000Z', orderId?: string, useGeneration = 1, holdSequence?: number): CouponEvent => ({
    ...base(at), type: 'CouponUsed', version: 3,
    data: { issuedCouponId: issuedId(sequence), userId, useSequence, orderId: orderId ?? null, useGeneration, ...(holdSequence ? { holdSequence } : {}) },
  }),
  held: (sequence: number, userId: string, orderId: string, holdSequence: number, at = '2026-12-02T07:50:00.000Z', ttlMs = 1_200_000): CouponEvent => ({
    ...base(at), type: 'CouponHeld', data: { issuedCouponId: issuedId(sequence), userId, orderId, holdSequence, heldUntilMs: Date.parse(at) + ttlMs },
  }),
  holdEnded: (sequence: number, userId: string, orderId: string, holdSequence: number, reason: 'RELEASED' | 'EXPIRED', at = '2026-12-02T07:55:00.000Z'): CouponEvent => ({
    ...base(at), type: 'CouponHoldEnded', data: { issuedCouponId: issuedId(sequence), userId, orderId, holdSequence, reason },
  }),
  /** `revokedCount`: the cancellation came after revoke-unused and revoked the coupon, leaving this total. */
  useCancelled: (sequence: number, userId: string, cancelSequence: number, at = '2026-12-02T09:00:00.000Z', orderId?: string, useGeneration = 1, revokedCount?: number): CouponEvent => ({
    ...base(at), type: 'CouponUseCancelled', version: 2,
    data: { issuedCouponId: issuedId(sequence), userId, orderId: orderId ?? null, useGeneration, cancelSequence, ...(revokedCount ? { revokedCount } : {}) },
  }),
  revoked: (holders: [number, string][], revokedCount: number, at = '2026-12-03T08:00:00.000Z'): CouponEvent => ({
    ...base(at), type: 'CouponsRevoked', version: 2,
    data: { revoked: holders.map(([sequence, userId]) => ({ issuedCouponId: issuedId(sequence), userId })), revokedCount },
  }),
  eligibilityChanged: (requiredClaims: Record<string, string[]> | null, at = '2026-12-01T08:05:00.000Z', revision = 0): CouponEvent =>
    ({ ...base(at), type: 'CouponEligibilityChanged', version: 2, data: { requiredClaims, revision } }),
  allowListChunk: (version: number, userIds: string[], at = '2026-12-01T08:05:00.000Z'): CouponEvent => ({ ...base(at), type: 'CouponAllowListChunkAdded', data: { version, userIds } }),
  allowListReplaced: (version: number | null, size: number, at = '2026-12-01T08:06:00.000Z', revision = 0): CouponEvent =>
    ({ ...base(at), type: 'CouponAllowListReplaced', version: 2, data: { version, size, revision } }),
  closed: (at = '2026-12-01T09:00:00.000Z'): CouponEvent => ({ ...base(at), type: 'CouponIssuanceClosed', data: {} }),
  windowChanged: (issueStartAt: string, issueEndAt: string, at = '2026-12-01T08:20:00.000Z', revision = 0): CouponEvent =>
    ({ ...base(at), type: 'CouponIssueWindowChanged', version: 2, data: { issueStartAt, issueEndAt, revision } }),
  stockAdded: (add: number, totalQuantity: number, at = '2026-12-01T08:20:00.000Z'): CouponEvent => ({ ...base(at), type: 'CouponStockAdded', data: { add, totalQuantity } }),
};
