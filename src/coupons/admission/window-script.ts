import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { ChangeWindowResult, EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** window.lua: the issue window moved (either end; ISO instants, normalized). */
export async function windowScript(
  runner: ScriptRunner, couponId: string, change: { issueStartAt?: string; issueEndAt?: string }, eventId: string, meta: EventMeta, request: AdmissionRequest,
): Promise<ChangeWindowResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request);
  const ms = (iso?: string) => (iso === undefined ? '' : Date.parse(iso));
  const { reply: [outcome, start, end], replayed } = await runner.decide('couponChangeWindow', [
    k.coupon, k.outbox, memo.key, couponId, eventId, JSON.stringify(meta), ms(change.issueStartAt), ms(change.issueEndAt),
    change.issueStartAt ?? '', change.issueEndAt ?? '', memo.fingerprint, memo.ttlMs,
  ]);
  if (outcome === 'WINDOW_CHANGED') return { outcome, issueStartAt: start!, issueEndAt: end!, replayed };
  return { outcome: outcome as Exclude<ChangeWindowResult['outcome'], 'WINDOW_CHANGED'> };
}
