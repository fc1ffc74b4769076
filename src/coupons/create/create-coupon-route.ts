import type Router from '@koa/router';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { withIdempotency } from '../../http/idempotency.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { adminCouponView } from '../coupon-view.ts';
import { uuidv7 } from '../ids.ts';
import { createCouponRequest } from './create-coupon-request.ts';

export function createCouponRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { value, raw } = await readJsonBody(ctx);
    const definition = validate(createCouponRequest, value);
    await withIdempotency(ctx, deps.redis, identityOf(ctx).userId, raw, async () => {
      const couponId = uuidv7();
      const created = await deps.admission.create(couponId, uuidv7(), definition, eventMeta(ctx));
      if (created.outcome !== 'CREATED') throw new Error(`fresh coupon id ${couponId} already exists`);
      const snapshot = await deps.admission.read(couponId);
      return { status: 201, body: adminCouponView(couponId, snapshot!), headers: { Location: `/admin/coupons/${couponId}` } };
    });
  });
}
