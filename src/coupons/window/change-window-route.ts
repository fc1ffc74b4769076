import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused, markReplayed } from '../../http/idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { Problem } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { instant } from '../create/create-coupon-request.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { isCouponId, uuidv7 } from '../../ids/ids.ts';

export const changeWindowRequest = z
  .strictObject({ issueStartAt: instant.optional(), issueEndAt: instant.optional() })
  .refine((c) => c.issueStartAt !== undefined || c.issueEndAt !== undefined, { message: 'name issueStartAt, issueEndAt or both', path: ['issueEndAt'] });
export const windowChangedSchema = z.object({ id: z.string(), issueStartAt: z.string(), issueEndAt: z.string() });

/** `PATCH /admin/coupons/{id}`: move a live coupon's issue window, decided atomically with its admissions. */
export function changeWindowRoute(router: Router, deps: CouponRouteDeps): void {
  router.patch('/admin/coupons/:couponId', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const change = validate(changeWindowRequest, value);
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.changeWindow(couponId, change, uuidv7(), eventMeta(ctx), request);
    switch (result.outcome) {
      case 'COUPON_NOT_FOUND':
        throw new Problem(result.outcome, 'No coupon has this id');
      case 'COUPON_CLOSED':
        throw new Problem(result.outcome, 'Issuing of this coupon is closed; its window cannot move');
      case 'ISSUE_STARTED':
        throw new Problem(result.outcome, 'Issuing has started, so issueStartAt can no longer move; issueEndAt still can');
      case 'WINDOW_INVALID':
        throw new Problem('VALIDATION_FAILED', 'The window must start before it ends, end in the future and end no later than validUntil', {
          errors: [{ path: 'issueEndAt', message: 'The window would not be valid' }],
        });
      case 'IDEMPOTENCY_KEY_REUSED':
        throw keyReused();
      case 'WINDOW_CHANGED':
        // This process asks Redis again at once (its memory keeps the window's end); the others learn it by pub/sub.
        await deps.settled.changed(couponId, 'reopened');
        markReplayed(ctx, request, result.replayed);
        ctx.body = { id: couponId, issueStartAt: result.issueStartAt, issueEndAt: result.issueEndAt };
    }
  });
}
