import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { problemFor } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { ADD_STOCK_REFUSALS, couponIdIn } from '../coupon-refusals.ts';
import { uuidv7 } from '../ids.ts';
import { MAX_TOTAL_QUANTITY } from '../rules/coupon-rules.ts';

export const addStockRequest = z.strictObject({ add: z.number().int().min(1).max(MAX_TOTAL_QUANTITY) });
export const stockAddedSchema = z.object({ id: z.string(), added: z.number().int(), totalQuantity: z.number().int() });

/** `POST /admin/coupons/{id}/stock`: more of a live coupon, decided atomically with its admissions. */
export function addStockRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons/:couponId/stock', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { value, raw } = await readJsonBody(ctx);
    const { add } = validate(addStockRequest, value);
    const couponId = couponIdIn(ctx);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.addStock(couponId, add, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'STOCK_ADDED') throw problemFor(ADD_STOCK_REFUSALS, result);
    // This process asks Redis again at once; the others learn it by pub/sub.
    await deps.settled.changed(couponId, 'reopened');
    markReplayed(ctx, request, result.replayed);
    ctx.body = { id: couponId, added: add, totalQuantity: result.totalQuantity };
  });
}
