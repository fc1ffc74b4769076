import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { authenticate, identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { answerProblem } from '../../http/error-handler.ts';
import { Problem, problemFor } from '../../http/problem.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { couponIdIn, ISSUE_REFUSALS } from '../coupon-refusals.ts';
import { metrics } from '../../metrics/metrics.ts';
import { couponIdOfCode } from '../codes/coupon-id-of-code.ts';
import { uuidv7 } from '../ids.ts';
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
    await issueCoupon(ctx, deps, couponIdIn(ctx));
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
