import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused, markReplayed } from '../../http/idempotency-key.ts';
import { Problem } from '../../http/problem.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { isCouponId, uuidv7 } from '../../ids/ids.ts';

export const closedCouponSchema = z.object({ id: z.string(), status: z.literal('CLOSED'), closedAt: z.string() });

export function closeCouponRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons/:couponId/close', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    const request = admissionRequestOf(ctx, identityOf(ctx).userId);
    const result = await deps.admission.close(couponId, uuidv7(), eventMeta(ctx), request);
    switch (result.outcome) {
      case 'COUPON_NOT_FOUND':
        throw new Problem(result.outcome, 'No coupon has this id');
      case 'COUPON_CLOSED':
        throw new Problem(result.outcome, 'Issuing of this coupon is already closed', { closedAt: result.closedAt.toISOString() });
      case 'IDEMPOTENCY_KEY_REUSED':
        throw keyReused();
      case 'CLOSED':
        // This process answers its next askers COUPON_CLOSED at once; the others learn it by pub/sub.
        await deps.settled.changed(couponId, 'closed');
        markReplayed(ctx, request, result.replayed);
        ctx.body = { id: couponId, status: 'CLOSED', closedAt: result.closedAt.toISOString() };
    }
  });
}
