import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { problemFor } from '../../http/problem.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { CLOSE_REFUSALS, couponIdIn } from '../coupon-refusals.ts';
import { uuidv7 } from '../ids.ts';

export const closedCouponSchema = z.object({ id: z.string(), status: z.literal('CLOSED'), closedAt: z.string() });

export function closeCouponRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons/:couponId/close', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdIn(ctx);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId);
    const result = await deps.admission.close(couponId, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'CLOSED') throw problemFor(CLOSE_REFUSALS, result);
    // This process answers its next askers COUPON_CLOSED at once; the others learn it by pub/sub.
    await deps.settled.changed(couponId, 'closed');
    markReplayed(ctx, request, result.replayed);
    ctx.body = { id: couponId, status: 'CLOSED', closedAt: result.closedAt.toISOString() };
  });
}
