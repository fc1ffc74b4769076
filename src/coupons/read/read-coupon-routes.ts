import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { authenticate, identityOf } from '../../auth/authenticate.ts';
import { problemOf } from '../../http/problem.ts';
import { NO_COUPON } from '../coupon-refusals.ts';
import type { CouponRouteDeps } from '../coupon-route-deps.ts';
import { publicCouponView } from '../coupon-view.ts';
import { couponIdOfCode } from '../codes/coupon-id-of-code.ts';
import { isCouponId } from '../ids.ts';
import { ISSUED_COUPON_STATUSES, issuedCouponStatus } from '../rules/coupon-rules.ts';

export const issuanceSchema = z.union([
  z.object({ issued: z.literal(false) }),
  z.object({ issued: z.literal(true), issuedCouponId: z.string(), status: z.enum(ISSUED_COUPON_STATUSES), usedAt: z.string().optional() }),
]);

/** The fast path: answered from admission state in Redis, current to the last admission. */
export function readCouponRoutes(router: Router, deps: CouponRouteDeps): void {
  const read = async (ctx: Context, couponId: string) => {
    const snapshot = isCouponId(couponId) ? await deps.admission.snapshot(couponId) : undefined;
    if (!snapshot) throw problemOf(NO_COUPON, undefined);
    ctx.body = publicCouponView(couponId, snapshot);
  };
  router.get('/coupons/:couponId', authenticate(deps.verify), (ctx) => read(ctx, (ctx.params as { couponId: string }).couponId));
  router.get('/coupons/by-code/:code', authenticate(deps.verify), async (ctx) => read(ctx, await couponIdOfCode(deps.codes, (ctx.params as { code: string }).code)));

  router.get('/coupons/:couponId/issuance', authenticate(deps.verify), async (ctx) => {
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
  });
}
