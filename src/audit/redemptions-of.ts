import { issuedCouponId } from '../ids/ids.ts';
import type { Redemption } from '../coupons/rules/coupon-rules.ts';
import type { ReplayedCoupon } from './history-auditor.ts';

/** The coupon's issued coupons in a redemption state (in use, or revoked), by issued coupon id, as the rules' state holds them. */
export function redemptionsOf<S extends 'USED' | 'REVOKED'>(c: ReplayedCoupon, state: S): Map<string, Extract<Redemption, { state: S }>> {
  const out = new Map<string, Extract<Redemption, { state: S }>>();
  for (const [sequence, r] of c.state?.redemptions ?? []) {
    if (r.state === state) out.set(issuedCouponId(c.couponId, sequence), r as Extract<Redemption, { state: S }>);
  }
  return out;
}
