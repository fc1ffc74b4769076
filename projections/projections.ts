import { couponProjection } from './coupon/coupon-projection.ts';
import { issuedCouponProjection } from './issued-coupon/issued-coupon-projection.ts';
import type { Projection } from './projection.ts';

/** Every read model built from the log; the projector runs each, and a rebuild can target any by name. */
export const PROJECTIONS: readonly Projection<unknown>[] = [couponProjection, issuedCouponProjection] as Projection<unknown>[];

export function projectionNamed(name: string): Projection<unknown> {
  const found = PROJECTIONS.find((p) => p.name === name);
  if (!found) throw new Error(`no projection named ${name}; there are: ${PROJECTIONS.map((p) => p.name).join(', ')}`);
  return found;
}
