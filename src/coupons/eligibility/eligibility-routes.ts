import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { requiredClaimsSchema } from '../../events/coupon-events.ts';
import { admissionRequestOf } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { Problem, problemFor } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { ALLOW_LIST_REFUSALS, couponIdIn, ELIGIBILITY_REFUSALS, REMOVE_ALLOW_LIST_REFUSALS } from '../coupon-refusals.ts';
import { uuidv7 } from '../ids.ts';
import { allowListChunks } from './allow-list-upload.ts';
import { requestBody } from '../../http/request-body.ts';

export const eligibilityRequest = z.strictObject({ requiredClaims: requiredClaimsSchema.nullable() });
export const allowListReplacedSchema = z.object({ id: z.string(), allowList: z.object({ version: z.number().int(), size: z.number().int() }) });

/**
 * Who may be issued a coupon, changed by an admin during its life: the claims required of a caller's token,
 * and the allow-list, uploaded in bulk. Each is checked inside the same atomic admission step as the stock.
 */
export function eligibilityRoutes(router: Router, deps: CouponRouteDeps): void {
  router.put('/admin/coupons/:couponId/eligibility', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdIn(ctx);
    const { value, raw } = await readJsonBody(ctx);
    const { requiredClaims } = validate(eligibilityRequest, value);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.changeEligibility(couponId, requiredClaims, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'ELIGIBILITY_CHANGED') throw problemFor(ELIGIBILITY_REFUSALS, { outcome: result.outcome });
    ctx.body = { id: couponId, requiredClaims };
  });

  router.put('/admin/coupons/:couponId/allow-list', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdIn(ctx);
    const format = ctx.is('application/x-ndjson', 'application/ndjson') ? 'ndjson' : ctx.is('text/csv') ? 'csv' : undefined;
    if (!format) throw new Problem('UNSUPPORTED_MEDIA_TYPE', 'Send the list as application/x-ndjson (one user id per line) or text/csv (user ids in the first column)');
    const result = await deps.admission.replaceAllowList(couponId, allowListChunks(requestBody(ctx), format), eventMeta(ctx));
    if (result.outcome !== 'REPLACED') throw problemFor(ALLOW_LIST_REFUSALS, result);
    ctx.body = { id: couponId, allowList: { version: result.version, size: result.size } };
  });

  router.delete('/admin/coupons/:couponId/allow-list', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdIn(ctx);
    const result = await deps.admission.removeAllowList(couponId, eventMeta(ctx));
    if (result.outcome !== 'REMOVED') throw problemFor(REMOVE_ALLOW_LIST_REFUSALS, { outcome: result.outcome });
    ctx.status = 204;
  });
}
