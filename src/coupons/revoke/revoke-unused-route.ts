import { revokeUnused } from './revoke-unused-run.ts';
import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused } from '../../http/idempotency-key.ts';
import { Problem } from '../../http/problem.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { isCouponId } from '../../ids/ids.ts';

export const revokedSchema = z.object({ id: z.string(), status: z.literal('CLOSED'), revokedCount: z.number().int() });

/**
 * Ends a campaign: issuing closes, and every issued coupon not in use is revoked (see
 * AdmissionStore.revokeUnused). The answer is the coupon's revoked total, the same for a retry.
 */
export function revokeUnusedRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons/:couponId/revoke-unused', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    const request = admissionRequestOf(ctx, identityOf(ctx).userId);
    const result = await revokeUnused(deps.admission, couponId, eventMeta(ctx), request);
    switch (result.outcome) {
      case 'COUPON_NOT_FOUND':
        throw new Problem(result.outcome, 'No coupon has this id');
      case 'IDEMPOTENCY_KEY_REUSED':
        throw keyReused();
      case 'REVOKED':
        await deps.settled.changed(couponId, 'closed');
        ctx.body = { id: couponId, status: 'CLOSED', revokedCount: result.revokedCount };
    }
  });
}
