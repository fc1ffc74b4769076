import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { ADD_STOCK_REFUSALS, couponIdIn, UNANSWERED } from '../coupon-refusals.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { MAX_TOTAL_QUANTITY } from '../rules/coupon-rules.ts';

export const addStockRequest = z.strictObject({ add: z.number().int().min(1).max(MAX_TOTAL_QUANTITY) });
export const stockAddedSchema = z.object({ id: z.string(), added: z.number().int(), totalQuantity: z.number().int() });

/** `POST /admin/coupons/{id}/stock`: more of a live coupon, decided atomically with its admissions. */
export const addStockRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/admin/coupons/:couponId/stock', auth: 'admin', params: COUPON_ID_PARAM, idempotent: true,
  summary: 'Add stock to a live coupon; a sold-out one admits again. Atomic with its admissions: never more issued than the total at the moment of each decision',
  tag: 'admin', body: addStockRequest, bodyRequired: true,
  answer: { status: 200, schema: stockAddedSchema },
  problems: [...codesOf(ADD_STOCK_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
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
  },
});
