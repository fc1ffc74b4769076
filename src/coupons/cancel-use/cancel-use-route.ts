import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused, markReplayed } from '../../http/idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { Problem } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
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
export function cancelUseRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/issued-coupons/:issuedCouponId/cancel-use', authenticate(deps.verify), async (ctx) => {
    const { issuedCouponId } = ctx.params as { issuedCouponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const { orderId } = validate(cancelUseRequest, value);
    const identity = identityOf(ctx);
    if (!may(identity.role, 'cancelUse')) throw new Problem('FORBIDDEN', 'A use is cancelled by the order system or an admin, not by its holder');
    const id = parseIssuedCouponId(issuedCouponId);
    if (!id) throw new Problem('ISSUED_COUPON_NOT_FOUND', 'No issued coupon has this id');
    const request = admissionRequestOf(ctx, identity.userId, raw);
    const result = await deps.admission.cancelUse(id.couponId, id.sequence, orderId ?? null, uuidv7(), eventMeta(ctx), request);
    switch (result.outcome) {
      case 'USE_CANCELLED':
        markReplayed(ctx, request, result.replayed);
        ctx.body = { issuedCouponId, status: result.status };
        return;
      case 'ALREADY_CANCELLED':
        ctx.body = { issuedCouponId, status: result.status };
        return;
      case 'ISSUED_COUPON_NOT_FOUND':
        throw new Problem(result.outcome, 'No issued coupon has this id');
      case 'NOT_USED':
        throw new Problem(result.outcome, 'This coupon is not in use, so there is no use to cancel');
      case 'ORDER_MISMATCH':
        throw new Problem(result.outcome, 'The coupon was used for another order');
      case 'IDEMPOTENCY_KEY_REUSED':
        throw keyReused();
    }
  });
}
