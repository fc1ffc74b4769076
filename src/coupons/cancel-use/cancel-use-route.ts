import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, Problem, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { CANCEL_USE_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { parseIssuedCouponId, uuidv7 } from '../../ids/ids.ts';
import { may } from '../rules/coupon-rules.ts';

/** The order whose cancellation undoes the use; absent for a use that named no order. */
export const cancelUseRequest = z.strictObject({ orderId: z.string().trim().min(1).max(100).optional() });

export const useCancelledSchema = z.object({ issuedCouponId: z.string(), status: z.enum(['ISSUED', 'EXPIRED', 'REVOKED']) });

/**
 * The order that used a coupon was cancelled: the order system (a service token) or an admin says so, for any
 * holder; a holder cannot (the discount would come back to them on their own word). The coupon is usable again
 * inside its validity, unless revoke-unused has run (REVOKED); asked again for the same order, the same answer.
 */
export const cancelUseRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/issued-coupons/:issuedCouponId/cancel-use', auth: 'token', params: { issuedCouponId: 'The issued coupon id' }, idempotent: true,
  summary: 'The order that used the coupon was cancelled: the use is undone (by the order system, a service token, or an admin; a holder is 403); the coupon is ISSUED again inside its validity, EXPIRED after it, REVOKED once revoke-unused has run',
  tag: 'coupons', body: cancelUseRequest,
  notes: '`orderId` must be the order the use named (absent for a use that named none). The same cancellation asked again answers the same 200.',
  answer: { status: 200, schema: useCancelledSchema },
  problems: ['FORBIDDEN', ...codesOf(CANCEL_USE_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const { issuedCouponId } = ctx.params as { issuedCouponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const { orderId } = validate(cancelUseRequest, value);
    const identity = identityOf(ctx);
    if (!may(identity.role, 'cancelUse')) throw new Problem('FORBIDDEN', 'A use is cancelled by the order system or an admin, not by its holder');
    const id = parseIssuedCouponId(issuedCouponId);
    if (!id) throw problemFor(CANCEL_USE_REFUSALS, { outcome: 'ISSUED_COUPON_NOT_FOUND' });
    const request = admissionRequestOf(ctx, identity.userId, raw);
    const result = await deps.admission.cancelUse(id.couponId, id.sequence, orderId ?? null, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'USE_CANCELLED' && result.outcome !== 'ALREADY_CANCELLED') throw problemFor(CANCEL_USE_REFUSALS, result);
    if (result.outcome === 'USE_CANCELLED') markReplayed(ctx, request, result.replayed);
    ctx.body = { issuedCouponId, status: result.status };
  },
});
