import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { adminCouponSchema, adminCouponView } from '../coupon-view.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { Problem, codesOf, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { CREATE_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { generatedCode } from '../codes/coupon-code.ts';
import { couponIdForKey } from './coupon-id-for-key.ts';
import { createCouponRequest } from './create-coupon-request.ts';

export const createCouponRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/admin/coupons', auth: 'admin', summary: 'Create a coupon', tag: 'admin',
  body: createCouponRequest, bodyRequired: true, idempotent: true,
  notes: 'Also required, across fields: issueStartAt < issueEndAt, validFrom < validUntil, issueEndAt <= validUntil.',
  answer: { status: 201, schema: adminCouponSchema },
  problems: [...codesOf(CREATE_REFUSALS), ...UNANSWERED, 'COUPON_CODE_TAKEN'],
  handler: async (ctx) => {
    const { value, raw } = await readJsonBody(ctx);
    const requested = validate(createCouponRequest, value);
    if (requested.humanCheck && !deps.humanCheck.configured) {
      throw new Problem('VALIDATION_FAILED', 'The body has 1 problem', { errors: [{ path: 'humanCheck', message: 'needs a human-check verifier: set HUMAN_CHECK_URL' }] });
    }
    if (requested.opening?.mode === 'queue' && !deps.rooms.passes) {
      throw new Problem('VALIDATION_FAILED', 'The body has 1 problem', { errors: [{ path: 'opening', message: 'needs a key to sign passes: set QUEUE_PASS_SECRET' }] });
    }
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
  },
});
