import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { admissionRequestOf, markReplayed } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, Problem, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { UNANSWERED, USE_REFUSALS } from '../coupon-refusals.ts';
import { parseIssuedCouponId, uuidv7 } from '../../ids/ids.ts';
import { currencyExponent, fromMinor, MAX_ORDER_TOTAL, may, toMinor, type Principal } from '../rules/coupon-rules.ts';
import type { OrderTotal } from '../admission/admission-store.ts';
import { asDryRun, dryRunQuery, isDryRun } from '../dry-run.ts';

/**
 * `userId`: the holder a service (the order system) or an admin uses the coupon for; a holder never names one.
 * `orderTotal` and `currency`: the order's total (a decimal in that currency), which a coupon with a currency
 * computes its discount from; both or neither.
 */
export const useCouponRequest = z.strictObject({
  orderId: z.string().trim().min(1).max(100).optional(),
  userId: z.string().min(1).max(191).optional(),
  orderTotal: z.number().min(0).max(MAX_ORDER_TOTAL).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').optional(),
});

/** The order's total in minor units of its currency, or a 400 naming what is wrong. */
export function orderTotalOf(body: { orderTotal?: number; currency?: string }): OrderTotal | undefined {
  const { orderTotal, currency } = body;
  if (orderTotal === undefined && currency === undefined) return undefined;
  const invalid = (path: string, message: string) => new Problem('VALIDATION_FAILED', 'The order total is not valid', { errors: [{ path, message }] });
  if (orderTotal === undefined || currency === undefined) throw invalid(orderTotal === undefined ? 'orderTotal' : 'currency', 'orderTotal and currency go together');
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw invalid('currency', 'is not an ISO 4217 currency');
  const totalMinor = toMinor(orderTotal, exponent);
  if (totalMinor === undefined) throw invalid('orderTotal', `has more digits than ${currency} has (${exponent})`);
  return { totalMinor, currency };
}

export const usedCouponSchema = z.object({
  issuedCouponId: z.string(),
  status: z.literal('USED'),
  usedAt: z.string().optional(),
  orderId: z.string().optional(),
  /** A dry run's answer: what the use would be now; nothing was used (no usedAt). */
  dryRun: z.literal(true).optional(),
  /** On a coupon with a currency: the discount this use granted, in that currency. */
  discountGranted: z.number().optional(),
  currency: z.string().optional(),
});

/**
 * Whose coupon is used (or held): the caller's own, or, for the order system and admins, the holder they name (the
 * script then checks that this user holds it, so a coupon is never applied to another customer's order).
 */
export function holderFor(role: Principal, caller: string, onBehalfOf: string | undefined): string {
  if (onBehalfOf === undefined) {
    if (role === 'service') throw new Problem('VALIDATION_FAILED', 'A service names the holder it acts for', { errors: [{ path: 'userId', message: 'required for a service token' }] });
    return caller;
  }
  if (!may(role, 'useOnBehalf')) throw new Problem('FORBIDDEN', 'Only the order system or an admin uses a coupon on a holder\'s behalf');
  return onBehalfOf;
}

export const useCouponRoute = (deps: CouponRouteDeps): Route => ({
  method: 'post', path: '/issued-coupons/:issuedCouponId/use', auth: 'token', params: { issuedCouponId: 'The issued coupon id' }, idempotent: true,
  summary: 'Use an issued coupon, once, inside its validity: the holder\'s own, or (a service token or an admin) a holder\'s named in userId', tag: 'coupons',
  body: useCouponRequest, query: dryRunQuery,
  notes: 'A holder sends no userId (403 FORBIDDEN if they do). The order system (role service) must name the holder it acts for; the coupon must be theirs (404 otherwise).',
  answer: { status: 200, schema: usedCouponSchema },
  problems: ['FORBIDDEN', ...codesOf(USE_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const { issuedCouponId } = ctx.params as { issuedCouponId: string };
    const { value, raw } = await readJsonBody(ctx);
    const body = validate(useCouponRequest, value);
    const { orderId, userId: onBehalfOf } = body;
    const order = orderTotalOf(body);
    const identity = identityOf(ctx);
    const userId = holderFor(identity.role, identity.userId, onBehalfOf);
    // What an order comes to is the order system's word: a holder naming a total could draw the budget down with made-up orders.
    if (order && identity.role === 'user') throw new Problem('FORBIDDEN', 'An order total is named by the order system (a service token) or an admin, not by the holder');
    const id = parseIssuedCouponId(issuedCouponId);
    if (!id) throw problemFor(USE_REFUSALS, { outcome: 'ISSUED_COUPON_NOT_FOUND' });
    const request = asDryRun(admissionRequestOf(ctx, identity.userId, raw), isDryRun(ctx));
    const result = await deps.admission.use(id.couponId, id.sequence, userId, uuidv7(), orderId, eventMeta(ctx), request, order);
    if (result.outcome !== 'USED' && result.outcome !== 'WOULD_USE') throw problemFor(USE_REFUSALS, result);
    if (result.outcome === 'USED') markReplayed(ctx, request, result.replayed);
    const granted = result.discountMinor !== undefined && order ? { discountGranted: fromMinor(result.discountMinor, currencyExponent(order.currency)!), currency: order.currency } : {};
    const done = result.outcome === 'USED' ? { usedAt: result.usedAt.toISOString() } : { dryRun: true };
    ctx.body = { issuedCouponId, status: 'USED', ...done, ...(orderId ? { orderId } : {}), ...granted };
  },
});
