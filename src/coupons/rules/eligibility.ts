import type { EligibilityClaims } from '../../auth/identity.ts';
import type { RequiredClaims } from '../../events/coupon-events.ts';
import type { AdmissionCoupon } from './coupon-state.ts';

/** Whether a caller qualifies: every required claim carries an allowed value, and they are on the allow-list in force. */
export function isEligible(coupon: Pick<AdmissionCoupon, 'requiredClaims' | 'allowList'>, userId: string, claims: EligibilityClaims = {}): boolean {
  for (const [name, allowed] of Object.entries(coupon.requiredClaims ?? {})) {
    // Own claims only: a claim named `constructor` or `toString` is not the object's prototype.
    const held = Object.hasOwn(claims, name) ? claims[name] : undefined;
    const values = typeof held === 'string' ? [held] : Array.isArray(held) ? held : [];
    if (!values.some((v) => allowed.includes(v))) return false;
  }
  return !coupon.allowList || coupon.allowList.members.has(userId);
}

/** The caller's claims the coupon's rules looked at: what a CouponIssued records. */
export function qualifyingClaims(requiredClaims: RequiredClaims | undefined, claims: EligibilityClaims): EligibilityClaims | undefined {
  if (!requiredClaims) return undefined;
  return Object.fromEntries(Object.keys(requiredClaims).flatMap((name) => (Object.hasOwn(claims, name) ? [[name, claims[name]!]] : [])));
}
