import { uuidv7 } from '../../ids/ids.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { EventMeta, OrderTotal, UseResult } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** use.lua: the holder's coupon used (for `orderId` when named), or why not; `k`: the holder's stock bucket's keys, on a coupon split into buckets. */
export async function useScript(
  runner: ScriptRunner, couponId: string, sequence: number, userId: string, eventId: string, orderId: string | undefined, meta: EventMeta, request: AdmissionRequest,
  k = runner.keys(couponId), order?: OrderTotal,
): Promise<UseResult> {
  const memo = runner.memo(couponId, request, k);
  const { reply: [outcome, at, granted], replayed } = await runner.decide('couponUse', [
    k.coupon, k.holders, k.used, k.outbox, memo.key, k.attempts('use', userId), k.holds, couponId, String(sequence), userId, eventId,
    orderId ?? '', JSON.stringify(meta), memo.fingerprint, memo.ttlMs, ...runner.limit(), uuidv7(), order?.totalMinor ?? 0, order?.currency ?? '', request.dryRun ? '1' : '',
  ]);
  if (outcome === 'USED') return { outcome, usedAt: new Date(Number(at)), replayed, ...(granted === undefined ? {} : { discountMinor: Number(granted) }) };
  if (outcome === 'ALREADY_USED') return { outcome, usedAt: new Date(Number(at)) };
  if (outcome === 'WOULD_USE') return { outcome, ...(at ? { discountMinor: Number(at) } : {}) };
  if (outcome === 'RATE_LIMITED') return { outcome, retryAfterMs: Number(at) };
  return { outcome: outcome as Exclude<UseResult['outcome'], 'USED' | 'ALREADY_USED' | 'RATE_LIMITED' | 'WOULD_USE'> };
}
