import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf } from '../idempotency-key.ts';
import { problemFor } from '../../http/problem.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { couponIdIn, REVOKE_REFUSALS } from '../coupon-refusals.ts';

export const revokedSchema = z.object({ id: z.string(), status: z.literal('CLOSED'), revokedCount: z.number().int() });

/**
 * Ends a campaign: issuing closes, and every issued coupon not in use is revoked (see
 * AdmissionStore.revokeUnused). The answer is the coupon's revoked total, the same for a retry.
 */
export function revokeUnusedRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons/:couponId/revoke-unused', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdIn(ctx);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId);
    const result = await deps.admission.revokeUnused(couponId, eventMeta(ctx), request);
    if (result.outcome !== 'REVOKED') throw problemFor(REVOKE_REFUSALS, result);
    await deps.settled.changed(couponId, 'closed');
    ctx.body = { id: couponId, status: 'CLOSED', revokedCount: result.revokedCount };
  });
}
