import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { authenticate, identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, keyReused, markReplayed } from '../../http/idempotency-key.ts';
import { answerProblem } from '../../http/error-handler.ts';
import { Problem, rateLimited } from '../../http/problem.ts';
import type { IssueResult } from '../admission/admission-store.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { metrics } from '../../metrics/metrics.ts';
import { couponIdOfCode } from '../codes/coupon-id-of-code.ts';
import { isCouponId, uuidv7 } from '../../ids/ids.ts';
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
export function issueCouponRoute(router: Router, deps: CouponRouteDeps): void {
  router.post('/coupons/:couponId/issue', authenticate(deps.verify), async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    await issueCoupon(ctx, deps, couponId);
  });
  router.post('/coupons/by-code/:code/issue', authenticate(deps.verify), async (ctx) => {
    await issueCoupon(ctx, deps, await couponIdOfCode(deps.codes, (ctx.params as { code: string }).code));
  });
}

async function issueCoupon(ctx: Context, deps: CouponRouteDeps, couponId: string): Promise<void> {
  const { userId, claims, role } = identityOf(ctx);
  if (!may(role, 'issue')) throw new Problem('FORBIDDEN', 'Coupons are issued to people; a service token holds none');
  // A keyed request must replay its first outcome, which only Redis remembers.
  const known = ctx.headers['idempotency-key'] === undefined ? deps.settled.answer(couponId, userId) : undefined;
  if (known) {
    metrics.admissionOutcomes.inc({ decision: 'issue', code: known.outcome });
    metrics.admissionFromMemory.inc({ code: known.outcome });
    answerProblem(ctx, problemOf(known));
    return;
  }
  const request = admissionRequestOf(ctx, userId);
  const result = await deps.admission.issue(couponId, userId, uuidv7(), eventMeta(ctx), request, claims);
  if (result.outcome === 'SOLD_OUT' || result.outcome === 'COUPON_CLOSED') deps.settled.learn(couponId, result.outcome);
  switch (result.outcome) {
    case 'ISSUED':
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
      return;
    case 'IDEMPOTENCY_KEY_REUSED':
      throw keyReused();
    default:
      answerProblem(ctx, problemOf(result));
  }
}

// Made once, for the storm below.
const SOLD_OUT = new Problem('SOLD_OUT', 'Every coupon has been issued');

/** The refusals, answered without a throw: a sold-out storm is thousands of them a second. */
function problemOf(result: Exclude<IssueResult, { outcome: 'ISSUED' | 'IDEMPOTENCY_KEY_REUSED' }>): Problem {
  switch (result.outcome) {
    case 'ALREADY_ISSUED':
      return new Problem('ALREADY_ISSUED', 'You already hold this coupon', { issuedCouponId: result.issuedCouponId });
    case 'COUPON_NOT_FOUND':
      return new Problem(result.outcome, 'No coupon has this id');
    case 'COUPON_CLOSED':
      return new Problem(result.outcome, 'Issuing of this coupon was closed');
    case 'ISSUE_NOT_STARTED':
      return new Problem(result.outcome, 'The issue window has not opened yet');
    case 'ISSUE_ENDED':
      return new Problem(result.outcome, 'The issue window has ended');
    case 'SOLD_OUT':
      return SOLD_OUT;
    case 'NOT_ELIGIBLE':
      return new Problem(result.outcome, 'This coupon is for other users: your account does not meet its conditions');
    case 'RATE_LIMITED':
      return rateLimited(result.retryAfterMs);
  }
}
