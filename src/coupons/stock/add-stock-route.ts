import type Router from '@koa/router';
import { z } from 'zod';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused, markReplayed } from '../../http/idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { Problem } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { isCouponId, uuidv7 } from '../../ids/ids.ts';
import { MAX_TOTAL_QUANTITY } from '../rules/coupon-rules.ts';

export const addStockRequest = z.strictObject({ add: z.number().int().min(1).max(MAX_TOTAL_QUANTITY) });
export const stockAddedSchema = z.object({ id: z.string(), added: z.number().int(), totalQuantity: z.number().int() });

/** `POST /admin/coupons/{id}/stock`: more of a live coupon, decided atomically with its admissions. */
export function addStockRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons/:couponId/stock', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const { add } = validate(addStockRequest, value);
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.addStock(couponId, add, uuidv7(), eventMeta(ctx), request);
    switch (result.outcome) {
      case 'COUPON_NOT_FOUND':
        throw new Problem(result.outcome, 'No coupon has this id');
      case 'COUPON_CLOSED':
        throw new Problem(result.outcome, 'Issuing of this coupon is closed; stock cannot be added');
      case 'STOCK_LIMIT':
        throw new Problem('VALIDATION_FAILED', `A coupon's total may not exceed ${MAX_TOTAL_QUANTITY.toLocaleString('en')}`, {
          errors: [{ path: 'add', message: 'The total would exceed the limit' }],
        });
      case 'IDEMPOTENCY_KEY_REUSED':
        throw keyReused();
      case 'STOCK_ADDED':
        // This process asks Redis again at once; the others learn it by pub/sub.
        await deps.settled.changed(couponId, 'reopened');
        markReplayed(ctx, request, result.replayed);
        ctx.body = { id: couponId, added: add, totalQuantity: result.totalQuantity };
    }
  });
}
