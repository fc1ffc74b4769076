import { issuedCouponId } from '../../ids/ids.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { EventMeta, IssueResult } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';
import type { HumanVerdict } from '../human-check/human-check.ts';
import type { ShownPass } from '../rules/coupon-rules.ts';

/**
 * issue.lua: the next coupon in line for this user, or why not. `claims`: the caller's eligibility claims as JSON;
 * `human`: their human check's verdict; `pass`: the waiting-room pass they showed, its signature verified.
 */
export async function issueScript(
  runner: ScriptRunner, couponId: string, userId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, claims: string, human: HumanVerdict, pass?: ShownPass,
): Promise<IssueResult> {
  const k = runner.keys(couponId);
  const memo = runner.memo(couponId, request);
  const { reply, replayed } = await runner.decide('couponIssue', [
    k.coupon, k.holders, k.outbox, memo.key, k.attempts('issue', userId), ...k.allowLists, k.persons, k.queue.passes, couponId, userId, eventId,
    JSON.stringify(meta), memo.fingerprint, memo.ttlMs, ...runner.limit(), claims, human, pass?.person ?? '', pass ? String(pass.expiresAtMs) : '', request.dryRun ? '1' : '',
  ]);
  return issueResultOf(couponId, reply, replayed) as IssueResult;
}

/** An issue script's reply (issue.lua, bucket-issue.lua) as its result. */
export function issueResultOf(couponId: string, [outcome, a, b, c, d]: string[], replayed: boolean): IssueResult | { outcome: 'DRY' | 'NO_BUCKET' } {
  switch (outcome) {
    case 'ISSUED':
      return { outcome, issuedCouponId: issuedCouponId(couponId, Number(a)), issuedAt: new Date(Number(b)), validFrom: c!, validUntil: d!, replayed };
    case 'ALREADY_ISSUED':
      return { outcome, issuedCouponId: issuedCouponId(couponId, Number(a)) };
    case 'WOULD_ISSUE':
      return { outcome };
    case 'RATE_LIMITED':
      return { outcome, retryAfterMs: Number(a) };
    default:
      return { outcome: outcome as Exclude<IssueResult['outcome'], 'ISSUED' | 'ALREADY_ISSUED' | 'RATE_LIMITED' | 'WOULD_ISSUE'> | 'DRY' | 'NO_BUCKET' };
  }
}
