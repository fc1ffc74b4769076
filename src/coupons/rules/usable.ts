import type { AdmissionCoupon } from './coupon-state.ts';
import { refused } from './event-draft.ts';

export type Unusable =
  | { outcome: 'ALREADY_USED'; usedAt: number; events: [] }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_REVOKED' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED'; events: [] };

/**
 * The checks a use and a hold share, in this order (`usable` in prelude.lua): the asker's own coupon (someone else's
 * is indistinguishable from a missing one, so ids cannot be probed), not in use, not revoked, inside its validity.
 */
export function unusable(coupon: AdmissionCoupon | undefined, sequence: number, userId: string, now: number): Unusable | undefined {
  if (!coupon || coupon.holders.get(userId) !== sequence) return refused('ISSUED_COUPON_NOT_FOUND');
  const r = coupon.redemptions.get(sequence);
  if (r?.state === 'USED') return { outcome: 'ALREADY_USED', usedAt: r.at, events: [] };
  if (r?.state === 'REVOKED') return refused('COUPON_REVOKED');
  if (now < coupon.validFrom) return refused('COUPON_NOT_YET_VALID');
  if (now >= coupon.validUntil) return refused('COUPON_EXPIRED');
  return undefined;
}
