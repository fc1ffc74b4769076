import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { codesOf, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { CLOSE_REFUSALS, couponIdIn, UNANSWERED } from '../coupon-refusals.ts';
import { uuidv7 } from '../../ids/ids.ts';

export const closedCouponSchema = z.object({ id: z.string(), status: z.literal('CLOSED'), closedAt: z.string() });

export const closeCouponRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/admin/coupons/:couponId/close', auth: 'admin', params: COUPON_ID_PARAM, idempotent: true,
  summary: 'Stop issuing a coupon now; issued coupons stay valid', tag: 'admin',
  answer: { status: 200, schema: closedCouponSchema },
  problems: [...codesOf(CLOSE_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const couponId = couponIdIn(ctx);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId);
    const result = await deps.admission.close(couponId, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'CLOSED') throw problemFor(CLOSE_REFUSALS, result);
    // This process answers its next askers COUPON_CLOSED at once; the others learn it by pub/sub.
    await deps.settled.changed(couponId, 'closed');
    markReplayed(ctx, request, result.replayed);
    ctx.body = { id: couponId, status: 'CLOSED', closedAt: result.closedAt.toISOString() };
  },
});
