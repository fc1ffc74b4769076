import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { instant } from '../create/create-coupon-request.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { CHANGE_WINDOW_REFUSALS, couponIdIn, UNANSWERED } from '../coupon-refusals.ts';
import { uuidv7 } from '../../ids/ids.ts';

export const changeWindowRequest = z
  .strictObject({ issueStartAt: instant.optional(), issueEndAt: instant.optional() })
  .refine((c) => c.issueStartAt !== undefined || c.issueEndAt !== undefined, { message: 'name issueStartAt, issueEndAt or both', path: ['issueEndAt'] });
export const windowChangedSchema = z.object({ id: z.string(), issueStartAt: z.string(), issueEndAt: z.string() });

/** `PATCH /admin/coupons/{id}`: move a live coupon's issue window, decided atomically with its admissions. */
export const changeWindowRoute = (deps: CouponRouteDeps): Route => ({
  method: 'patch', path: '/admin/coupons/:couponId', auth: 'admin', params: COUPON_ID_PARAM, idempotent: true,
  summary: 'Move the issue window of a live coupon: the end to any future instant within validity, the start only before issuing begins. Atomic with its admissions',
  tag: 'admin', body: changeWindowRequest, bodyRequired: true,
  answer: { status: 200, schema: windowChangedSchema },
  problems: [...codesOf(CHANGE_WINDOW_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
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
  },
});
