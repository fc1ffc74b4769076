import { removeAllowList, replaceAllowList } from './allow-list-runs.ts';
import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { requiredClaimsSchema } from '../../events/coupon-events.ts';
import { admissionRequestOf, keyReused } from '../../http/idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { Problem } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { isCouponId, uuidv7 } from '../../ids/ids.ts';
import { allowListChunks } from './allow-list-upload.ts';
import { requestBody } from '../../http/request-body.ts';

export const eligibilityRequest = z.strictObject({ requiredClaims: requiredClaimsSchema.nullable() });
export const allowListReplacedSchema = z.object({ id: z.string(), allowList: z.object({ version: z.number().int(), size: z.number().int() }) });

const couponIdOf = (params: unknown): string => {
  const { couponId } = params as { couponId: string };
  if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
  return couponId;
};

/**
 * Who may be issued a coupon, changed by an admin during its life: the claims required of a caller's token,
 * and the allow-list, uploaded in bulk. Each is checked inside the same atomic admission step as the stock.
 */
export function eligibilityRoutes(router: Router, deps: CouponRouteDeps): void {
  router.put('/admin/coupons/:couponId/eligibility', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdOf(ctx.params);
    const { value, raw } = await readJsonBody(ctx);
    const { requiredClaims } = validate(eligibilityRequest, value);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.changeEligibility(couponId, requiredClaims, uuidv7(), eventMeta(ctx), request);
    if (result.outcome === 'COUPON_NOT_FOUND') throw new Problem(result.outcome, 'No coupon has this id');
    if (result.outcome === 'IDEMPOTENCY_KEY_REUSED') throw keyReused();
    ctx.body = { id: couponId, requiredClaims };
  });

  router.put('/admin/coupons/:couponId/allow-list', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdOf(ctx.params);
    const format = ctx.is('application/x-ndjson', 'application/ndjson') ? 'ndjson' : ctx.is('text/csv') ? 'csv' : undefined;
    if (!format) throw new Problem('UNSUPPORTED_MEDIA_TYPE', 'Send the list as application/x-ndjson (one user id per line) or text/csv (user ids in the first column)');
    const result = await replaceAllowList(deps.admission, couponId, allowListChunks(requestBody(ctx), format), eventMeta(ctx));
    if (result.outcome !== 'REPLACED') {
      throw result.outcome === 'COUPON_NOT_FOUND' ? new Problem(result.outcome, 'No coupon has this id')
        : new Problem(result.outcome, 'Another upload for this coupon started after this one and replaced it');
    }
    ctx.body = { id: couponId, allowList: { version: result.version, size: result.size } };
  });

  router.delete('/admin/coupons/:couponId/allow-list', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const couponId = couponIdOf(ctx.params);
    const result = await removeAllowList(deps.admission, couponId, eventMeta(ctx));
    if (result.outcome === 'COUPON_NOT_FOUND') throw new Problem(result.outcome, 'No coupon has this id');
    ctx.status = 204;
  });
}
