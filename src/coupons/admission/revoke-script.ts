import { uuidv7 } from '../../ids/ids.ts';
import type { EventMeta, RevokeChunkResult } from './admission-results.ts';
import type { CouponKeys } from './keys.ts';
import type { ScriptRunner } from './script-runner.ts';

/**
 * revoke.lua: one chunk of a revoke-unused run, each named holder's coupon revoked unless in use (at most 1,000
 * holders; `keys`: the coupon's, or the stock bucket they are holders of).
 */
export async function revokeScript(
  runner: ScriptRunner, couponId: string, holders: readonly (readonly [string, string | number])[], meta: EventMeta, k: CouponKeys = runner.keys(couponId),
): Promise<RevokeChunkResult> {
  const { reply: [outcome, revoked, total] } = await runner.decide('couponRevoke', [
    k.coupon, k.holders, k.used, k.outbox, couponId, uuidv7(), JSON.stringify(meta), holders.length, ...holders.flat(),
  ]);
  return outcome === 'REVOKED' ? { outcome, revoked: Number(revoked), revokedCount: Number(total) } : { outcome: 'COUPON_NOT_FOUND' };
}
