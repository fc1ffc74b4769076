import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, Problem, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { RELEASE_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';
import { may } from '../rules/coupon-rules.ts';

/** `holdSequence`: the number the hold was answered with; named, a release retried after its order held the coupon again ends nothing new. */
export const releaseHoldRequest = z.strictObject({ orderId: z.string().trim().min(1).max(100), holdSequence: z.number().int().min(1).optional() });

export const releasedSchema = z.object({ issuedCouponId: z.string(), status: z.enum(['ISSUED', 'EXPIRED', 'USED']) });

/**
 * The checkout was abandoned: the order system (a service token) or an admin gives the hold back, naming the order
 * that holds it; a holder cannot (403). Asked again for the same order, the same 200. A service naming another
 * order learns only that the coupon is held (409 ORDER_MISMATCH), which its own hold attempt would tell it too.
 */
export const releaseHoldRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/issued-coupons/:issuedCouponId/release', auth: 'token', params: { issuedCouponId: 'The issued coupon id' }, idempotent: true,
  summary: 'Give back a checkout\'s hold (the order system, a service token, or an admin; a holder is 403): the coupon is ISSUED again inside its validity, EXPIRED after it',
  tag: 'coupons', body: releaseHoldRequest,
  notes: 'A hold that already lapsed is ended as lapsed and answers the same 200. A hold its order confirmed by a use is 409 ALREADY_USED: cancel the use instead.',
  answer: { status: 200, schema: releasedSchema },
  problems: ['FORBIDDEN', ...codesOf(RELEASE_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const { issuedCouponId } = ctx.params as { issuedCouponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const { orderId, holdSequence } = validate(releaseHoldRequest, value);
    const identity = identityOf(ctx);
    if (!may(identity.role, 'releaseHold')) throw new Problem('FORBIDDEN', 'A hold is released by the order system or an admin, not by its holder');
    const id = parseIssuedCouponId(issuedCouponId);
    if (!id) throw problemFor(RELEASE_REFUSALS, { outcome: 'ISSUED_COUPON_NOT_FOUND' });
    const request = admissionRequestOf(ctx, identity.userId, raw);
    const result = await deps.admission.release(id.couponId, { sequence: id.sequence, orderId, ...(holdSequence === undefined ? {} : { holdSequence }) }, eventMeta(ctx), request);
    if (result.outcome !== 'RELEASED' && result.outcome !== 'ALREADY_RELEASED') throw problemFor(RELEASE_REFUSALS, result);
    if (result.outcome === 'RELEASED') markReplayed(ctx, request, result.replayed);
    ctx.body = { issuedCouponId, status: result.status };
  },
});
