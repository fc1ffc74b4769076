import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { CloseResult, EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** close.lua: issuing closed for good. `gate`: outbox entries the close's event must follow (a bucketed coupon's buckets, closed first). */
export async function closeScript(runner: ScriptRunner, couponId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, gate = ''): Promise<CloseResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request);
  const { reply: [outcome, at], replayed } = await runner.decide('couponClose', [
    k.coupon, k.outbox, memo.key, couponId, eventId, JSON.stringify(meta), memo.fingerprint, memo.ttlMs, gate,
  ]);
  if (outcome === 'CLOSED') return { outcome, closedAt: new Date(Number(at)), replayed };
  if (outcome === 'COUPON_CLOSED') return { outcome, closedAt: new Date(Number(at)) };
  return { outcome: outcome as Exclude<CloseResult['outcome'], 'CLOSED' | 'COUPON_CLOSED'> };
}
