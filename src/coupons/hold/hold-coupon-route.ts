import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { HOLD_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';
import { HOLD_TTL_SECONDS } from '../rules/coupon-rules.ts';
import { holderFor } from '../use/use-coupon-route.ts';
import { asDryRun, dryRunQuery, isDryRun } from '../dry-run.ts';

export const holdCouponRequest = z.strictObject({
  orderId: z.string().trim().min(1).max(100),
  ttlSeconds: z.number().int().min(HOLD_TTL_SECONDS.min).max(HOLD_TTL_SECONDS.max),
  userId: z.string().min(1).max(191).optional(),
});

/** `holdSequence`: the coupon's nth hold, for a release to name (a dry run has none yet). */
export const heldCouponSchema = z.object({
  issuedCouponId: z.string(), status: z.literal('HELD'), orderId: z.string(), heldUntil: z.string(), holdSequence: z.number().int().optional(), dryRun: z.literal(true).optional(),
});

/**
 * A checkout reserves the coupon for its order: the holder themselves, or the order system (or an admin) naming the
 * holder, as for a use. Another order's use is then 409 HELD until the hold is released, lapses, or its own order's
 * use confirms it. A hostile holder can hold only their own coupon, for at most an hour at a time; a service's
 * hold on a coupon its holder did not give it is the order system's word, as its uses are.
 */
export const holdCouponRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/issued-coupons/:issuedCouponId/hold', auth: 'token', params: { issuedCouponId: 'The issued coupon id' }, idempotent: true,
  summary: 'Hold an issued coupon for an order at checkout until it is used by that order, released, or ttlSeconds pass', tag: 'coupons',
  body: holdCouponRequest, query: dryRunQuery,
  notes: `The same order asking again is answered the hold it has (not extended). ttlSeconds: ${HOLD_TTL_SECONDS.min} to ${HOLD_TTL_SECONDS.max}. A holder sends no userId; a service names the holder.`,
  answer: { status: 200, schema: heldCouponSchema },
  problems: ['FORBIDDEN', ...codesOf(HOLD_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const { issuedCouponId } = ctx.params as { issuedCouponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const { orderId, ttlSeconds, userId: onBehalfOf } = validate(holdCouponRequest, value);
    const identity = identityOf(ctx);
    const userId = holderFor(identity.role, identity.userId, onBehalfOf);
    const id = parseIssuedCouponId(issuedCouponId);
    if (!id) throw problemFor(HOLD_REFUSALS, { outcome: 'ISSUED_COUPON_NOT_FOUND' });
    const request = asDryRun(admissionRequestOf(ctx, identity.userId, raw), isDryRun(ctx));
    const result = await deps.admission.hold(id.couponId, { sequence: id.sequence, userId, orderId, ttlMs: ttlSeconds * 1000 }, eventMeta(ctx), request);
    if (result.outcome !== 'HELD' && result.outcome !== 'ALREADY_HELD' && result.outcome !== 'WOULD_HOLD') throw problemFor(HOLD_REFUSALS, result);
    if (result.outcome === 'HELD') markReplayed(ctx, request, result.replayed);
    const number = result.outcome === 'WOULD_HOLD' ? { dryRun: true } : { holdSequence: result.holdSequence };
    ctx.body = { issuedCouponId, status: 'HELD', orderId, heldUntil: result.heldUntil.toISOString(), ...number };
  },
});
