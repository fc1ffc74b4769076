import type { RequiredClaims } from '../../events/coupon-events.ts';
import { issuedCouponId } from '../../ids/ids.ts';
import { inUse } from '../rules/coupon-rules.ts';
import type { CouponDefinition, EligibilityView } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/** A coupon as admission holds it this instant, for the views. */
export interface CouponSnapshot {
  definition: CouponDefinition;
  closed: boolean;
  closedAt?: Date;
  createdAt: Date;
  issuedCount: number;
  /** Coupons in use now (the rules' `inUse`). */
  usedCount: number;
  revokedCount: number;
  /** A coupon with a budget: what its uses in force were granted, in minor units. */
  budgetSpentMinor?: number;
  eligibility: EligibilityView;
  now: Date;
  /** The caller's issuance, when a caller was named: when it was used (if in use) or revoked (if revoked). */
  mine?: { issuedCouponId: string; usedAt?: Date; revokedAt?: Date };
}

/** read.lua: the coupon and, when `userId` is named, their issuance, in one atomic read; undefined when Redis holds no such coupon. */
export async function readSnapshot(runner: ScriptRunner, couponId: string, userId?: string): Promise<CouponSnapshot | undefined> {
  const k = runner.keys(couponId);
  const row = await runner.read('couponRead', [k.coupon, k.holders, k.used, userId ?? '']);
  if (row.length === 0) return undefined;
  const [definition, status, issued, closedAt, createdAt, now, sequence, state, at, used, cancelled, revoked, claims, listVersion, listSize, spent] = row as [
    string, string, string, string, string, string, string, string, string, string, string, string, string, string, string, string,
  ];
  return {
    definition: JSON.parse(definition) as CouponDefinition,
    closed: status === 'CLOSED',
    closedAt: closedAt ? new Date(Number(closedAt)) : undefined,
    createdAt: new Date(Number(createdAt)),
    issuedCount: Number(issued),
    usedCount: inUse({ usedCount: Number(used), cancelledCount: Number(cancelled) }),
    revokedCount: Number(revoked),
    budgetSpentMinor: Number(spent),
    eligibility: {
      requiredClaims: claims ? (JSON.parse(claims) as RequiredClaims) : null,
      allowList: listVersion ? { version: Number(listVersion), size: Number(listSize) } : null,
    },
    now: new Date(Number(now)),
    mine: sequence ? {
      issuedCouponId: issuedCouponId(couponId, Number(sequence)),
      ...(state === 'U' ? { usedAt: new Date(Number(at)) } : state === 'R' ? { revokedAt: new Date(Number(at)) } : {}),
    } : undefined,
  };
}
