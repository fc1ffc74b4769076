import { MAX_TOTAL_QUANTITY } from '../rules/coupon-rules.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { AddStockResult, EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** stock.lua: `add` more coupons to issue. */
export async function stockScript(runner: ScriptRunner, couponId: string, add: number, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<AddStockResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request);
  const { reply: [outcome, total], replayed } = await runner.decide('couponAddStock', [
    k.coupon, k.outbox, memo.key, couponId, eventId, JSON.stringify(meta), add, MAX_TOTAL_QUANTITY, memo.fingerprint, memo.ttlMs,
  ]);
  if (outcome === 'STOCK_ADDED') return { outcome, totalQuantity: Number(total), replayed };
  return { outcome: outcome as Exclude<AddStockResult['outcome'], 'STOCK_ADDED'> };
}
