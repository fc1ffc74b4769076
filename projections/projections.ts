import { couponProjection } from './coupon/coupon-projection.ts';
import { couponHistoryProjection } from './coupon-history/coupon-history-projection.ts';
import { issuedCouponProjection } from './issued-coupon/issued-coupon-projection.ts';
import { notificationProjection } from './notification/notification-projection.ts';
import type { Projection } from './projection.ts';

/** The read models the projector keeps and a rebuild can replace. */
export const PROJECTIONS: readonly Projection<unknown>[] = [couponProjection, issuedCouponProjection, couponHistoryProjection] as Projection<unknown>[];

/**
 * With the notifier's usage notices, which are not rebuilt: their deliveries have happened, and the
 * expiry notices beside them come from a scan, not from the log.
 */
export const ALL_PROJECTIONS: readonly Projection<unknown>[] = [...PROJECTIONS, notificationProjection as Projection<unknown>];

export function projectionNamed(name: string): Projection<unknown> {
  const found = PROJECTIONS.find((p) => p.name === name);
  if (!found) throw new Error(`no projection named ${name}; there are: ${PROJECTIONS.map((p) => p.name).join(', ')}`);
  return found;
}
