import { revokeUnused } from './revoke-unused-run.ts';
import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf } from '../idempotency-key.ts';
import { codesOf, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { couponIdIn, REVOKE_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';

export const revokedSchema = z.object({ id: z.string(), status: z.literal('CLOSED'), revokedCount: z.number().int() });

/**
 * Ends a campaign: issuing closes, and every issued coupon not in use is revoked (see
 * AdmissionStore.revokeUnused). The answer is the coupon's revoked total, the same for a retry.
 */
export const revokeUnusedRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/admin/coupons/:couponId/revoke-unused', auth: 'admin', params: COUPON_ID_PARAM, idempotent: true,
  summary: 'End a campaign: close issuing and revoke every issued coupon not in use (stock is not returned; holders get a COUPON_REVOKED notice)',
  tag: 'admin',
  notes: 'Revokes in atomic chunks of at most 1,000 holders, each one CouponsRevoked event; a use racing it either comes first (USED) or finds the coupon REVOKED. A run cut short is finished by running it again. `revokedCount` is the coupon\'s revoked total.',
  answer: { status: 200, schema: revokedSchema },
  problems: [...codesOf(REVOKE_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const couponId = couponIdIn(ctx);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId);
    const result = await revokeUnused(deps.admission, couponId, eventMeta(ctx), request);
    if (result.outcome !== 'REVOKED') throw problemFor(REVOKE_REFUSALS, result);
    await deps.settled.changed(couponId, 'closed');
    ctx.body = { id: couponId, status: 'CLOSED', revokedCount: result.revokedCount };
  },
});
