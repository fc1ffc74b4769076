import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused, markReplayed } from '../../http/idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { Problem, rateLimited } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { parseIssuedCouponId, uuidv7 } from '../ids.ts';

export const useCouponRequest = z.strictObject({ orderId: z.string().trim().min(1).max(100).optional() });

export const usedCouponSchema = z.object({
  issuedCouponId: z.string(),
  status: z.literal('USED'),
  usedAt: z.string(),
  orderId: z.string().optional(),
});

export function useCouponRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/issued-coupons/:issuedCouponId/use', authenticate(deps.verify), async (ctx) => {
    const { issuedCouponId } = ctx.params as { issuedCouponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const { orderId } = validate(useCouponRequest, value);
    const id = parseIssuedCouponId(issuedCouponId);
    if (!id) throw new Problem('ISSUED_COUPON_NOT_FOUND', 'You hold no coupon with this id');
    const userId = identityOf(ctx).userId;
    const request = admissionRequestOf(ctx, userId, raw);
    const result = await deps.admission.use(id.couponId, id.sequence, userId, uuidv7(), orderId, eventMeta(ctx), request);
    switch (result.outcome) {
      case 'USED':
        markReplayed(ctx, request, result.replayed);
        ctx.body = { issuedCouponId, status: 'USED', usedAt: result.usedAt.toISOString(), ...(orderId ? { orderId } : {}) };
        return;
      case 'ALREADY_USED':
        throw new Problem(result.outcome, 'This coupon was already used', { usedAt: result.usedAt.toISOString() });
      case 'ISSUED_COUPON_NOT_FOUND':
        throw new Problem(result.outcome, 'You hold no coupon with this id');
      case 'COUPON_NOT_YET_VALID':
        throw new Problem(result.outcome, 'This coupon cannot be used before its validity starts');
      case 'COUPON_EXPIRED':
        throw new Problem(result.outcome, 'This coupon expired unused');
      case 'COUPON_REVOKED':
        throw new Problem(result.outcome, 'This coupon was revoked and can no longer be used');
      case 'RATE_LIMITED':
        throw rateLimited(result.retryAfterMs);
      case 'IDEMPOTENCY_KEY_REUSED':
        throw keyReused();
    }
  });
}
