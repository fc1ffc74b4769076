import type { CouponEvent, EventOf } from '../events/coupon-events.ts';
import { parseIssuedCouponId } from '../ids/ids.ts';
import { decide, HOLD_TTL_SECONDS, type AdmissionCoupon } from '../coupons/rules/coupon-rules.ts';

type HoldEvent = EventOf<'CouponHeld' | 'CouponHoldEnded'>;
type Violation = (what: string) => void;

export const isHoldEvent = (event: CouponEvent): event is HoldEvent => event.type === 'CouponHeld' || event.type === 'CouponHoldEnded';

/**
 * Per coupon (its rules' state, which evolve keeps as one object), per issued coupon: the ids of the hold events
 * folded, so a copy is known by its id, and a second end of an old hold under another id is judged, not ignored.
 */
const HOLD_EVENTS = new WeakMap<AdmissionCoupon, Map<number, Set<string>>>();

/** A hold or its end already folded (a relay's copy), by its id. */
export function holdCopy(event: HoldEvent, state: AdmissionCoupon | undefined): boolean {
  const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence ?? 0;
  return (state && HOLD_EVENTS.get(state)?.get(sequence)?.has(event.eventId)) ?? false;
}

/**
 * A hold, or its end, judged by the rules at its instant (decide-holds.ts): placed by the holder on a coupon no
 * other order held, numbered next, for a TTL the route allows; ended once, by its own order's release while it was
 * in force, or as lapsed no earlier than its time.
 */
export function judgeHold(event: HoldEvent, before: AdmissionCoupon, violation: Violation): void {
  const at = Date.parse(event.occurredAt);
  const { issuedCouponId, orderId } = event.data;
  const sequence = parseIssuedCouponId(issuedCouponId)?.sequence ?? 0;
  let recorded = HOLD_EVENTS.get(before);
  if (!recorded) HOLD_EVENTS.set(before, (recorded = new Map()));
  let ids = recorded.get(sequence);
  if (!ids) recorded.set(sequence, (ids = new Set()));
  ids.add(event.eventId);
  if (event.type === 'CouponHeld') {
    const ttlMs = event.data.heldUntilMs - at;
    if (ttlMs < HOLD_TTL_SECONDS.min * 1000 || ttlMs > HOLD_TTL_SECONDS.max * 1000) violation(`${issuedCouponId} held for ${ttlMs} ms, outside what a hold may last`);
    const decided = decide({ type: 'HoldCoupon', sequence, userId: event.data.userId, orderId, ttlMs }, before, at);
    if (decided.outcome !== 'HELD') return violation(`${issuedCouponId} held for order ${orderId} where the rules answer ${decided.outcome}`);
    if (decided.events.length > 1) violation(`${issuedCouponId} held over a lapsed hold that no event ended`);
    const next = (before.heldCount ?? 0) + 1;
    if (event.data.holdSequence !== next) violation(`${issuedCouponId} hold numbered ${event.data.holdSequence}, the next was ${next}`);
    return;
  }
  const hold = before.holds?.get(sequence);
  if (!hold || hold.holdSequence !== event.data.holdSequence || hold.ended) return violation(`${issuedCouponId} hold ${event.data.holdSequence} ended, but it was not in force`);
  if (hold.orderId !== orderId || hold.userId !== event.data.userId) violation(`${issuedCouponId} hold of ${hold.userId}'s order ${hold.orderId} ended naming ${event.data.userId}'s ${orderId}`);
  if (event.data.reason === 'EXPIRED' && hold.until > at) violation(`${issuedCouponId} hold expired before its time (${new Date(hold.until).toISOString()})`);
  if (event.data.reason === 'RELEASED' && hold.until <= at) violation(`${issuedCouponId} hold released after it lapsed: it ends as EXPIRED`);
}
