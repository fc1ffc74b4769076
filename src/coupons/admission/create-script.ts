import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { CouponDefinition, CreateResult, EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';
import { moneyField, moneyOf } from '../rules/money.ts';

/** create.lua: the coupon's admission state and its CouponCreated, once per id; `bucketShards`: where its stock buckets live, when split. */
export async function createScript(
  runner: ScriptRunner, couponId: string, eventId: string, definition: CouponDefinition, meta: EventMeta, request: AdmissionRequest, bucketShards: readonly number[] = [],
): Promise<CreateResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request);
  const { eligibility, opening } = definition;
  const money = moneyOf(definition);
  const queue = opening?.mode === 'queue' ? [opening.admitPerSecond, opening.passTtlSeconds, opening.preQueueFrom ? Date.parse(opening.preQueueFrom) : 0] : ['', '', ''];
  const { reply: [outcome, at], replayed } = await runner.decide('couponCreate', [
    k.coupon, k.outbox, memo.key, couponId, eventId, JSON.stringify(meta), JSON.stringify(definition), definition.totalQuantity,
    Date.parse(definition.issueStartAt), Date.parse(definition.issueEndAt), Date.parse(definition.validFrom),
    Date.parse(definition.validUntil), definition.validFrom, definition.validUntil, memo.fingerprint, memo.ttlMs,
    eligibility?.requiredClaims ? JSON.stringify(eligibility.requiredClaims) : '', eligibility?.allowList ? '1' : '', definition.buckets ?? 1, bucketShards.join(','),
    definition.onePer?.claim ?? '', definition.humanCheck ? '1' : '', ...queue, money ? moneyField(money) : '',
  ]);
  if (outcome === 'CREATED') return { outcome, createdAt: new Date(Number(at)), replayed };
  return { outcome: outcome as Exclude<CreateResult['outcome'], 'CREATED'> };
}
