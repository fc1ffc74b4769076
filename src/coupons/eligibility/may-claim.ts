import type { EligibilityClaims } from '../../auth/identity.ts';
import type { RequiredClaims } from '../../events/coupon-events.ts';
import { isEligible } from '../rules/coupon-rules.ts';

/** What reads the allow-list in force (admission-store.ts). */
export interface AllowListReader {
  onAllowList(couponId: string, userId: string): Promise<boolean>;
}

/**
 * Whether the caller meets the coupon's conditions: its required claims (the rules' isEligible) and, when it has
 * an allow-list in force, that list (in Redis). For the views that leave out or hide what a caller may not claim:
 * the catalog, and the by-code routes.
 */
export async function meetsConditions(
  admission: AllowListReader, couponId: string, userId: string, claims: EligibilityClaims, requiredClaims: RequiredClaims | undefined, hasAllowList: boolean,
): Promise<boolean> {
  if (!isEligible({ requiredClaims }, userId, claims)) return false;
  return !hasAllowList || admission.onAllowList(couponId, userId);
}
