import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { problemFor } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { instant } from '../create/create-coupon-request.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { CHANGE_WINDOW_REFUSALS, couponIdIn } from '../coupon-refusals.ts';
import { uuidv7 } from '../ids.ts';

export const changeWindowRequest = z
  .strictObject({ issueStartAt: instant.optional(), issueEndAt: instant.optional() })
  .refine((c) => c.issueStartAt !== undefined || c.issueEndAt !== undefined, { message: 'name issueStartAt, issueEndAt or both', path: ['issueEndAt'] });
export const windowChangedSchema = z.object({ id: z.string(), issueStartAt: z.string(), issueEndAt: z.string() });

/** `PATCH /admin/coupons/{id}`: move a live coupon's issue window, decided atomically with its admissions. */
export function changeWindowRoute(router: Router, deps: CouponRouteDeps): void {
  router.patch('/admin/coupons/:couponId', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { value, raw } = await readJsonBody(ctx);
    const change = validate(changeWindowRequest, value);
    const couponId = couponIdIn(ctx);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.changeWindow(couponId, change, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'WINDOW_CHANGED') throw problemFor(CHANGE_WINDOW_REFUSALS, result);
    // This process asks Redis again at once (its memory keeps the window's end); the others learn it by pub/sub.
    await deps.settled.changed(couponId, 'reopened');
    markReplayed(ctx, request, result.replayed);
    ctx.body = { id: couponId, issueStartAt: result.issueStartAt, issueEndAt: result.issueEndAt };
  });
}
