import type { Context } from 'koa';
import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { answerProblem } from '../../http/error-handler.ts';
import { codesOf, Problem, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { couponIdIn, ISSUE_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { CODE_PARAM } from '../read/read-coupon-routes.ts';
import { metrics } from '../../metrics/metrics.ts';
import { couponIdOfCode } from '../codes/coupon-id-of-code.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { may } from '../rules/coupon-rules.ts';

export const issuedCouponSchema = z.object({
  issuedCouponId: z.string(),
  couponId: z.string(),
  userId: z.string(),
  issuedAt: z.string(),
  validFrom: z.string(),
  validUntil: z.string(),
});

/** `POST /coupons/{couponId}/issue` and, through the code index, `POST /coupons/by-code/{code}/issue`: one handler. */
export const issueCouponRoutes = (deps: CouponRouteDeps): Route[] => [
  {
    method: 'post', path: '/coupons/:couponId/issue', auth: 'token', params: COUPON_ID_PARAM, idempotent: true,
    summary: 'Ask for a coupon; the first N askers get one', tag: 'coupons',
    notes: 'OUTCOME_UNKNOWN: Redis did not answer in time and the request may have been issued; a retry answers ALREADY_ISSUED with the coupon if it was (or, with the same Idempotency-Key, the first 201).',
    answer: { status: 201, schema: issuedCouponSchema },
    problems: ['FORBIDDEN', ...codesOf(ISSUE_REFUSALS), ...UNANSWERED],
    handler: (ctx) => issueCoupon(ctx, deps, couponIdIn(ctx)),
  },
  {
    method: 'post', path: '/coupons/by-code/:code/issue', auth: 'token', params: CODE_PARAM, idempotent: true,
    summary: 'Ask for a coupon by its code: the same admission, answers and events as POST /coupons/{couponId}/issue', tag: 'coupons',
    answer: { status: 201, schema: issuedCouponSchema },
    problems: ['FORBIDDEN', ...codesOf(ISSUE_REFUSALS), 'VALIDATION_FAILED', ...UNANSWERED],
    handler: async (ctx) => issueCoupon(ctx, deps, await couponIdOfCode(deps.codes, (ctx.params as { code: string }).code)),
  },
];

async function issueCoupon(ctx: Context, deps: CouponRouteDeps, couponId: string): Promise<void> {
  const { userId, claims, role } = identityOf(ctx);
  if (!may(role, 'issue')) throw new Problem('FORBIDDEN', 'Coupons are issued to people; a service token holds none');
  // A keyed request must replay its first outcome, which only Redis remembers.
  const known = ctx.headers['idempotency-key'] === undefined ? deps.settled.answer(couponId, userId) : undefined;
  if (known) {
    metrics.admissionOutcomes.inc({ decision: 'issue', code: known.outcome });
    metrics.admissionFromMemory.inc({ code: known.outcome });
    answerProblem(ctx, problemFor(ISSUE_REFUSALS, known));
    return;
  }
  const request = admissionRequestOf(ctx, userId);
  const result = await deps.admission.issue(couponId, userId, uuidv7(), eventMeta(ctx), request, claims);
  if (result.outcome === 'SOLD_OUT' || result.outcome === 'COUPON_CLOSED') deps.settled.learn(couponId, result.outcome);
  if (result.outcome !== 'ISSUED') {
    // Answered without a throw: a sold-out storm is thousands of refusals a second.
    answerProblem(ctx, problemFor(ISSUE_REFUSALS, result));
    return;
  }
  markReplayed(ctx, request, result.replayed);
  ctx.status = 201;
  ctx.set('Location', `/me/coupons/${result.issuedCouponId}`);
  ctx.body = {
    issuedCouponId: result.issuedCouponId,
    couponId,
    userId,
    issuedAt: result.issuedAt.toISOString(),
    validFrom: result.validFrom,
    validUntil: result.validUntil,
  };
}
