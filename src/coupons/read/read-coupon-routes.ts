import type { Context } from 'koa';
import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { problemOf } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { NO_COUPON } from '../coupon-refusals.ts';
import { COUPON_ID_PARAM, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { publicCouponSchema, publicCouponView } from '../coupon-view.ts';
import { answerByCode, claimableSnapshot } from '../codes/claimable-code.ts';
import { isCouponId } from '../../ids/ids.ts';
import { ISSUED_COUPON_STATUSES, issuedCouponStatus } from '../rules/coupon-rules.ts';

export const issuanceSchema = z.union([
  z.object({ issued: z.literal(false) }),
  z.object({ issued: z.literal(true), issuedCouponId: z.string(), status: z.enum(ISSUED_COUPON_STATUSES), usedAt: z.string().optional() }),
]);

export const CODE_PARAM = { code: 'The coupon code, e.g. K7QX-M2PD-9HTW' };

/** The fast path: answered from admission state in Redis, current to the last admission. */
export const readCouponRoutes = (deps: CouponRouteDeps): Route[] => {
  const read = async (ctx: Context, couponId: string) => {
    const snapshot = isCouponId(couponId) ? await deps.admission.snapshot(couponId) : undefined;
    if (!snapshot) throw problemOf(NO_COUPON, undefined);
    ctx.body = publicCouponView(couponId, snapshot);
  };
  return [{
    method: 'get', path: '/coupons/:couponId', auth: 'token', params: COUPON_ID_PARAM,
    summary: 'A coupon, current to the last admission', tag: 'coupons',
    answer: { status: 200, schema: publicCouponSchema }, problems: ['COUPON_NOT_FOUND'],
    handler: (ctx) => read(ctx, (ctx.params as { couponId: string }).couponId),
  }, {
    method: 'get', path: '/coupons/by-code/:code', auth: 'token', params: CODE_PARAM,
    summary: 'A coupon by its code (case-insensitive), as GET /coupons/{couponId} answers', tag: 'coupons',
    notes: 'To a caller holding nothing from it, a closed coupon and one they may not claim answer exactly as an unknown code (the same bytes); ' +
      'such answers count toward a limit per caller and per address, past which the route answers 429 with Retry-After.',
    answer: { status: 200, schema: publicCouponSchema }, problems: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED', 'RATE_LIMITED'],
    handler: (ctx) => answerByCode(ctx, deps, (ctx.params as { code: string }).code, async (couponId) => {
      const snapshot = await claimableSnapshot(ctx, deps, couponId);
      if (!snapshot) return false;
      ctx.body = publicCouponView(couponId, snapshot);
      return true;
    }),
  }, {
    method: 'get', path: '/coupons/:couponId/issuance', auth: 'token', params: COUPON_ID_PARAM,
    summary: 'Whether the caller holds this coupon', tag: 'coupons',
    answer: { status: 200, schema: issuanceSchema }, problems: ['COUPON_NOT_FOUND'],
    handler: issuance(deps),
  }];
};

const issuance = (deps: CouponRouteDeps): Route['handler'] => async (ctx) => {
  const { couponId } = ctx.params as { couponId: string };
  const snapshot = isCouponId(couponId) ? await deps.admission.snapshot(couponId, identityOf(ctx).userId) : undefined;
  if (!snapshot) throw problemOf(NO_COUPON, undefined);
  const mine = snapshot.mine;
  if (!mine) {
    ctx.body = { issued: false };
    return;
  }
  const stored = mine.usedAt ? 'USED' : mine.revokedAt ? 'REVOKED' : 'ISSUED';
  const status = issuedCouponStatus({ status: stored, validUntil: new Date(snapshot.definition.validUntil) }, snapshot.now);
  ctx.body = { issued: true, issuedCouponId: mine.issuedCouponId, status, ...(mine.usedAt ? { usedAt: mine.usedAt.toISOString() } : {}) };
};
