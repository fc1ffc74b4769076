import type Router from '@koa/router';
import { authenticate, identityOf, requireAdmin } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { adminCouponView } from '../coupon-view.ts';
import { uuidv7 } from '../ids.ts';
import { Problem, problemFor } from '../../http/problem.ts';
import { CREATE_REFUSALS } from '../coupon-refusals.ts';
import { generatedCode } from '../codes/coupon-code.ts';
import { couponIdForKey } from './coupon-id-for-key.ts';
import { createCouponRequest } from './create-coupon-request.ts';

export function createCouponRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/admin/coupons', authenticate(deps.verify), requireAdmin, async (ctx) => {
    const { value, raw } = await readJsonBody(ctx);
    const requested = validate(createCouponRequest, value);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const claimed = request.keyed ? await couponIdForKey(deps.redis, request) : { couponId: uuidv7() };
    if (claimed === 'KEY_REUSED') throw problemFor(CREATE_REFUSALS, { outcome: 'IDEMPOTENCY_KEY_REUSED' });
    const { couponId } = claimed;
    const definition = { ...requested, code: requested.code ?? generatedCode(couponId) };
    if ((await deps.codes.reserve(definition.code, couponId)) === 'TAKEN') {
      throw new Problem('COUPON_CODE_TAKEN', `The code ${definition.code} names another coupon`, { couponCode: definition.code });
    }
    const created = await deps.admission.create(couponId, uuidv7(), definition, eventMeta(ctx), request);
    if (created.outcome === 'IDEMPOTENCY_KEY_REUSED') throw problemFor(CREATE_REFUSALS, created);
    if (created.outcome !== 'CREATED') throw new Error(`fresh coupon id ${couponId} already exists`);
    markReplayed(ctx, request, created.replayed);
    // The answer is built from what was decided, not read back: a Redis that fails after the create
    // must not turn a created coupon into an error.
    const { createdAt } = created;
    ctx.status = 201;
    ctx.set('Location', `/admin/coupons/${couponId}`);
    const eligibility = {
      requiredClaims: definition.eligibility?.requiredClaims ?? null, allowList: definition.eligibility?.allowList ? { version: 0, size: 0 } : null,
    };
    ctx.body = adminCouponView(couponId, { definition, closed: false, createdAt, issuedCount: 0, usedCount: 0, revokedCount: 0, eligibility, now: createdAt });
  });
}
