import type { CouponEvent } from '../../events/coupon-events.ts';
import { evolve, type AdmissionCoupon } from '../rules/coupon-rules.ts';

/** One coupon's admission state with what Redis keeps beside it, as a restore rebuilds it. */
export interface RebuiltCoupon {
  state: AdmissionCoupon;
  definition: string;
  validFrom: string;
  validUntil: string;
  createdAt: number;
  closedAt?: number;
}

/** Folds one event into the coupons being rebuilt; a copy of an event already folded changes nothing. */
export function foldInto(rebuilt: Map<string, RebuiltCoupon>, event: CouponEvent): void {
  const current = rebuilt.get(event.couponId);
  const state = evolve(current?.state, event);
  if (!state) return;
  if (event.type === 'CouponCreated' && !current) {
    rebuilt.set(event.couponId, {
      state, definition: JSON.stringify(event.data), validFrom: event.data.validFrom, validUntil: event.data.validUntil,
      createdAt: Date.parse(event.occurredAt),
    });
  } else if (current && event.type === 'CouponIssuanceClosed') {
    current.closedAt ??= Date.parse(event.occurredAt);
  } else if (current && event.type === 'CouponStockAdded') {
    // Redis keeps the definition as the reads show it: with the total and window as they now are.
    current.definition = JSON.stringify({ ...(JSON.parse(current.definition) as object), totalQuantity: state.totalQuantity });
  } else if (current && event.type === 'CouponIssueWindowChanged') {
    // The window the rules took, which a late copy of an older change does not move.
    const window = { issueStartAt: new Date(state.issueStartAt).toISOString(), issueEndAt: new Date(state.issueEndAt).toISOString() };
    current.definition = JSON.stringify({ ...(JSON.parse(current.definition) as object), ...window });
  }
}
