import type { RequiredClaims } from '../../events/coupon-events.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { EligibilityResult, EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** eligibility.lua: the claims required of callers from now on (null: none). */
export async function eligibilityScript(
  runner: ScriptRunner, couponId: string, requiredClaims: RequiredClaims | null, eventId: string, meta: EventMeta, request: AdmissionRequest,
): Promise<EligibilityResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request);
  const { reply: [outcome] } = await runner.decide('couponEligibility', [
    k.coupon, k.outbox, memo.key, couponId, eventId, JSON.stringify(meta), requiredClaims ? JSON.stringify(requiredClaims) : '', memo.fingerprint, memo.ttlMs,
  ]);
  return { outcome: outcome as EligibilityResult['outcome'] };
}
