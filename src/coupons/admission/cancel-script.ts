import type { AfterCancel } from '../rules/coupon-rules.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { CancelUseResult, EventMeta } from './admission-results.ts';
import type { CouponKeys } from './keys.ts';
import type { ScriptRunner } from './script-runner.ts';

/**
 * cancel.lua: the use of `sequence` by `orderId` undone (`keys`: the coupon's, or the stock bucket holding the
 * use). LEGACY_USE: the use was recorded before cancellations, without its holder or order, which must be read
 * from the log first.
 */
export async function cancelScript(
  runner: ScriptRunner, couponId: string, sequence: number, orderId: string | null, eventId: string, meta: EventMeta, request: AdmissionRequest,
  k: CouponKeys = runner.keys(couponId),
): Promise<CancelUseResult | { outcome: 'LEGACY_USE' }> {
  const memo = runner.memo(couponId, request, k);
  const { reply: [outcome, status], replayed } = await runner.decide('couponCancelUse', [
    k.coupon, k.used, k.outbox, memo.key, couponId, String(sequence), orderId ?? '', eventId, JSON.stringify(meta), memo.fingerprint, memo.ttlMs,
  ]);
  if (outcome === 'USE_CANCELLED') return { outcome, status: status as AfterCancel, replayed };
  if (outcome === 'ALREADY_CANCELLED') return { outcome, status: status as AfterCancel };
  return { outcome: outcome as Exclude<CancelUseResult['outcome'], 'USE_CANCELLED' | 'ALREADY_CANCELLED'> | 'LEGACY_USE' };
}
