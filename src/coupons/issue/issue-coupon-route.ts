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
import { answerByCode, claimableSnapshot } from '../codes/claimable-code.ts';
import type { IssueResult } from '../admission/admission-results.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { Identity } from '../../auth/identity.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { may } from '../rules/coupon-rules.ts';
import { asDryRun, dryRunQuery, isDryRun } from '../dry-run.ts';
import type { HumanVerdict } from '../human-check/human-check.ts';

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
    notes: 'OUTCOME_UNKNOWN: Redis did not answer in time and the request may have been issued; a retry answers ALREADY_ISSUED with the coupon if it was (or, with the same Idempotency-Key, the first 201). ' +
      'A coupon with humanCheck needs the token of a passed human check in the Human-Check header (403 HUMAN_CHECK_FAILED, nothing changed, without one). ' +
      'A coupon that opens through a waiting room needs the caller\'s own pass in the Queue-Pass header (403 PASS_REQUIRED without one, PASS_EXPIRED once lapsed or used).',
    answer: { status: 201, schema: issuedCouponSchema }, query: dryRunQuery,
    problems: ['FORBIDDEN', ...codesOf(ISSUE_REFUSALS), ...UNANSWERED],
    handler: (ctx) => issueCoupon(ctx, deps, couponIdIn(ctx), false, isDryRun(ctx)),
  },
  {
    method: 'post', path: '/coupons/by-code/:code/issue', auth: 'token', params: CODE_PARAM, idempotent: true,
    summary: 'Ask for a coupon by its code: the same admission and events as POST /coupons/{couponId}/issue', tag: 'coupons',
    notes: 'To a caller holding nothing from it, a closed coupon and one they may not claim answer exactly as an unknown code does (404, the same bytes), ' +
      'before anything else about it is said; such answers count toward a limit per caller and per address, past which the route answers 429 with Retry-After.',
    answer: { status: 201, schema: issuedCouponSchema },
    problems: ['FORBIDDEN', ...codesOf(ISSUE_REFUSALS), 'VALIDATION_FAILED', ...UNANSWERED],
    handler: async (ctx) => {
      const { userId, role } = identityOf(ctx);
      // Whatever does not depend on the coupon is said before the code is looked up, so it tells nothing of the code.
      mayIssue(role);
      if (ctx.query.dryRun !== undefined) {
        throw new Problem('VALIDATION_FAILED', 'A dry run is offered on POST /coupons/{couponId}/issue, not by code (a lookup by code counts as a guess)', {
          errors: [{ path: 'query.dryRun', message: 'not offered on this route' }],
        });
      }
      admissionRequestOf(ctx, userId);
      await answerByCode(ctx, deps, (ctx.params as { code: string }).code, async (couponId) => {
        // As the lookup by code answers: a non-holder hears nothing of a coupon they may not claim.
        return (await claimableSnapshot(ctx, deps, couponId)) !== undefined && issueCoupon(ctx, deps, couponId, true);
      });
    },
  },
];

function mayIssue(role: Identity['role']): void {
  if (!may(role, 'issue')) throw new Problem('FORBIDDEN', 'Coupons are issued to people; a service token holds none');
}

/** The admission, past the bot gate, with the waiting-room pass the caller showed (header Queue-Pass); a dry run spends no check. */
async function admitted(ctx: Context, deps: CouponRouteDeps, couponId: string, request: AdmissionRequest): Promise<IssueResult> {
  const { userId, claims } = identityOf(ctx);
  const pass = deps.rooms.passes?.read(ctx.get('Queue-Pass') || undefined, couponId);
  const token = ctx.get('Human-Check') || undefined;
  const issue = (human: HumanVerdict) => deps.admission.issue(couponId, userId, uuidv7(), eventMeta(ctx), request, claims, human, pass);
  if (request.dryRun) return issue(await deps.humanCheck.cachedVerdict(token, userId));
  return deps.humanCheck.behindGate(couponId, token, userId, ctx.ip, issue);
}

/** Refusals a by-code claim answers as an unknown code: its holder is told ALREADY_ISSUED before any of them. */
const UNCLAIMABLE = new Set(['COUPON_NOT_FOUND', 'COUPON_CLOSED', 'NOT_ELIGIBLE']);

/** Answers the request; false, unanswered, when by code it met a refusal answered as an unknown code. */
async function issueCoupon(ctx: Context, deps: CouponRouteDeps, couponId: string, byCode = false, dry = false): Promise<boolean> {
  const { userId, claims, role } = identityOf(ctx);
  mayIssue(role);
  // A keyed request must replay its first outcome, which only Redis remembers.
  const known = ctx.headers['idempotency-key'] === undefined ? deps.settled.answer(couponId, userId) : undefined;
  if (known) {
    metrics.admissionOutcomes.inc({ decision: 'issue', code: known.outcome });
    metrics.admissionFromMemory.inc({ code: known.outcome });
    if (byCode && UNCLAIMABLE.has(known.outcome)) return false;
    answerProblem(ctx, problemFor(ISSUE_REFUSALS, known));
    return true;
  }
  const request = asDryRun(admissionRequestOf(ctx, userId), dry);
  const result = await admitted(ctx, deps, couponId, request);
  if (result.outcome === 'WOULD_ISSUE') {
    ctx.status = 201;
    ctx.body = { dryRun: true, couponId, userId };
    return true;
  }
  if (result.outcome === 'SOLD_OUT' || result.outcome === 'COUPON_CLOSED') deps.settled.learn(couponId, result.outcome);
  if (result.outcome !== 'ISSUED') {
    if (byCode && UNCLAIMABLE.has(result.outcome)) return false;
    // Answered without a throw: a sold-out storm is thousands of refusals a second.
    answerProblem(ctx, problemFor(ISSUE_REFUSALS, result));
    return true;
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
  return true;
}
