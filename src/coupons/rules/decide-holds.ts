import { issuedCouponId } from '../../ids/ids.ts';
import type { AdmissionCoupon, Hold } from './coupon-state.ts';
import { refused, type EventDraft } from './event-draft.ts';
import { unusable } from './usable.ts';

/** The longest a checkout may hold a coupon, and the shortest. */
export const HOLD_TTL_SECONDS = { min: 10, max: 3_600 } as const;

export type HoldDecision =
  | { outcome: 'HELD'; heldUntil: number; events: EventDraft[] }
  | { outcome: 'ALREADY_HELD'; heldUntil: number; events: [] }
  | { outcome: 'ALREADY_USED'; usedAt: number; events: [] }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_REVOKED' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED' | 'HELD_ELSEWHERE' | 'HOLDS_NOT_OFFERED'; events: [] };

/** After a release the coupon is ISSUED inside its validity, EXPIRED after it; asked again later, USED if another order used it since. */
export type AfterRelease = 'ISSUED' | 'EXPIRED' | 'USED';
export type ReleaseDecision =
  | { outcome: 'RELEASED'; status: AfterRelease; events: EventDraft[] }
  | { outcome: 'ALREADY_RELEASED'; status: AfterRelease; events: [] }
  | { outcome: 'ALREADY_USED'; usedAt: number; events: [] }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_REVOKED' | 'NOT_HELD' | 'ORDER_MISMATCH' | 'HOLDS_NOT_OFFERED'; events: [] };

export type ExpireHoldDecision = { outcome: 'EXPIRED'; events: EventDraft[] } | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'NOT_HELD' | 'NOT_DUE'; events: [] };

/** The hold in force on `sequence` at `now`: placed, not ended, not lapsed. */
export function liveHold(coupon: AdmissionCoupon, sequence: number, now: number): Hold | undefined {
  const hold = coupon.holds?.get(sequence);
  return hold && !hold.ended && hold.until > now ? hold : undefined;
}

/**
 * A hold that lapsed but was not ended yet is ended (EXPIRED) by the first decision that meets it, in the same
 * step as that decision, and by the expiry timer otherwise: one event, whoever sees it first.
 */
export function lapseOf(coupon: AdmissionCoupon, sequence: number, now: number): EventDraft[] {
  const hold = coupon.holds?.get(sequence);
  if (!hold || hold.ended || hold.until > now) return [];
  const { orderId, userId, holdSequence } = hold;
  return [{ type: 'CouponHoldEnded', data: { issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId, orderId, holdSequence, reason: 'EXPIRED' } }];
}

/**
 * A checkout holds the holder's coupon for its order: the same checks as a use (the holder, not used, not revoked,
 * inside its validity), then no other order may hold it at `now`. The same order asking again is answered the
 * hold it has (not extended: a hold ends when it said it would). Only `use` by the same order confirms it.
 */
export function decideHold(coupon: AdmissionCoupon | undefined, hold: { sequence: number; userId: string; orderId: string; ttlMs: number }, now: number): HoldDecision {
  const { sequence, userId, orderId } = hold;
  const refusal = unusable(coupon, sequence, userId, now);
  if (refusal || !coupon) return refusal ?? refused('ISSUED_COUPON_NOT_FOUND');
  if (coupon.bucketCount) return refused('HOLDS_NOT_OFFERED');
  const live = liveHold(coupon, sequence, now);
  if (live) return live.orderId === orderId ? { outcome: 'ALREADY_HELD', heldUntil: live.until, events: [] } : refused('HELD_ELSEWHERE');
  const heldUntil = now + hold.ttlMs;
  const data = { issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId, orderId, holdSequence: (coupon.heldCount ?? 0) + 1, heldUntilMs: heldUntil };
  return { outcome: 'HELD', heldUntil, events: [...lapseOf(coupon, sequence, now), { type: 'CouponHeld', data }] };
}

/**
 * The order system (or an admin) gives a hold back: only the order that holds it may. A hold already released or
 * lapsed answers as the release did, with where the coupon stands now; one its order confirmed by the use still in
 * force is ALREADY_USED (cancel the use instead).
 */
export function decideRelease(coupon: AdmissionCoupon | undefined, release: { sequence: number; orderId: string; holdSequence?: number }, now: number): ReleaseDecision {
  const { sequence, orderId } = release;
  if (!coupon || sequence < 1 || sequence > coupon.issued) return refused('ISSUED_COUPON_NOT_FOUND');
  if (coupon.bucketCount) return refused('HOLDS_NOT_OFFERED');
  const r = coupon.redemptions.get(sequence);
  if (r?.state === 'REVOKED') return refused('COUPON_REVOKED');
  const hold = coupon.holds?.get(sequence);
  if (!hold) return refused('NOT_HELD');
  const status = r?.state === 'USED' ? 'USED' : now >= coupon.validUntil ? 'EXPIRED' : 'ISSUED';
  // A release naming its hold's number: one of an older hold is over (a retry after the order held again); a later one was never placed.
  const named = release.holdSequence;
  if (named !== undefined && named !== hold.holdSequence) return named < hold.holdSequence ? { outcome: 'ALREADY_RELEASED', status, events: [] } : refused('NOT_HELD');
  if (hold.orderId !== orderId) return refused(liveHold(coupon, sequence, now) ? 'ORDER_MISMATCH' : 'NOT_HELD');
  if (hold.ended === 'USED' && r?.state === 'USED' && r.orderId === orderId) return { outcome: 'ALREADY_USED', usedAt: r.at, events: [] };
  if (hold.ended) return { outcome: 'ALREADY_RELEASED', status, events: [] };
  const lapsed = lapseOf(coupon, sequence, now);
  if (lapsed.length > 0) return { outcome: 'RELEASED', status, events: lapsed };
  const { userId, holdSequence } = hold;
  return { outcome: 'RELEASED', status, events: [{ type: 'CouponHoldEnded', data: { issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId, orderId, holdSequence, reason: 'RELEASED' } }] };
}

/** The expiry timer's step for hold `holdSequence` of `sequence`: ended once it lapsed, unless something ended it first. */
export function decideExpireHold(coupon: AdmissionCoupon | undefined, expire: { sequence: number; holdSequence: number }, now: number): ExpireHoldDecision {
  if (!coupon) return refused('ISSUED_COUPON_NOT_FOUND');
  const hold = coupon.holds?.get(expire.sequence);
  if (!hold || hold.holdSequence !== expire.holdSequence || hold.ended || coupon.redemptions.get(expire.sequence)?.state === 'REVOKED') return refused('NOT_HELD');
  if (hold.until > now) return refused('NOT_DUE');
  return { outcome: 'EXPIRED', events: lapseOf(coupon, expire.sequence, now) };
}
