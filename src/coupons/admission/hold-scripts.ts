import { uuidv7 } from '../../ids/ids.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { AfterRelease } from '../rules/coupon-rules.ts';
import type { EventMeta, ExpireHoldResult, HoldResult, ReleaseResult } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** hold.lua: the holder's coupon held for `orderId` for `ttlMs`, or why not. */
export async function holdScript(
  runner: ScriptRunner, couponId: string, hold: { sequence: number; userId: string; orderId: string; ttlMs: number }, meta: EventMeta, request: AdmissionRequest,
): Promise<HoldResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request, k);
  const { sequence, userId, orderId, ttlMs } = hold;
  const { reply: [outcome, at, number], replayed } = await runner.decide('couponHold', [
    k.coupon, k.holders, k.used, k.holds, k.outbox, memo.key, k.attempts('hold', userId), couponId, String(sequence), userId, orderId, ttlMs,
    uuidv7(), uuidv7(), JSON.stringify(meta), memo.fingerprint, memo.ttlMs, ...runner.limit(), request.dryRun ? '1' : '',
  ]);
  if (outcome === 'HELD') return { outcome, heldUntil: new Date(Number(at)), holdSequence: Number(number), replayed };
  if (outcome === 'ALREADY_HELD') return { outcome, heldUntil: new Date(Number(at)), holdSequence: Number(number) };
  if (outcome === 'WOULD_HOLD') return { outcome, heldUntil: new Date(Number(at)) };
  if (outcome === 'ALREADY_USED') return { outcome, usedAt: new Date(Number(at)) };
  if (outcome === 'RATE_LIMITED') return { outcome, retryAfterMs: Number(at) };
  return { outcome: outcome as Exclude<HoldResult['outcome'], 'HELD' | 'ALREADY_HELD' | 'WOULD_HOLD' | 'ALREADY_USED' | 'RATE_LIMITED'> };
}

/** release.lua: the hold of `orderId` on `sequence` given back, or why not. */
export async function releaseScript(
  runner: ScriptRunner, couponId: string, release: { sequence: number; orderId: string; holdSequence?: number }, meta: EventMeta, request: AdmissionRequest,
): Promise<ReleaseResult> {
  const { sequence, orderId, holdSequence } = release;
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request, k);
  const { reply: [outcome, detail], replayed } = await runner.decide('couponRelease', [
    k.coupon, k.used, k.holds, k.outbox, memo.key, couponId, String(sequence), orderId, uuidv7(), JSON.stringify(meta), memo.fingerprint, memo.ttlMs, holdSequence ?? '',
  ]);
  if (outcome === 'RELEASED') return { outcome, status: detail as AfterRelease, replayed };
  if (outcome === 'ALREADY_RELEASED') return { outcome, status: detail as AfterRelease };
  if (outcome === 'ALREADY_USED') return { outcome, usedAt: new Date(Number(detail)) };
  return { outcome: outcome as Exclude<ReleaseResult['outcome'], 'RELEASED' | 'ALREADY_RELEASED' | 'ALREADY_USED'> };
}

/**
 * expire-hold.lua: the timer's step for hold `holdSequence`. Each attempt is a new step with its own event id: a
 * step retried after no answer finds the hold ended if the first step ran, and writes nothing.
 */
export async function expireHoldScript(runner: ScriptRunner, couponId: string, sequence: number, holdSequence: number): Promise<ExpireHoldResult> {
  const k = runner.keys(couponId);
  const { reply: [outcome] } = await runner.decide('couponExpireHold', () => [
    k.coupon, k.used, k.holds, k.outbox, couponId, String(sequence), String(holdSequence), uuidv7(), JSON.stringify({ actor: 'hold-expiry' }),
  ]);
  return { outcome: outcome as ExpireHoldResult['outcome'] };
}
