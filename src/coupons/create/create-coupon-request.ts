import { z } from 'zod';
import { couponCreatedData, discountSchema, eligibilitySchema, MAX_BUCKETS } from '../../events/coupon-events.ts';
import { couponCode } from '../codes/coupon-code.ts';
import { currencyExponent, MAX_BUDGET_MINOR, MAX_TOTAL_QUANTITY, toMinor } from '../rules/coupon-rules.ts';

const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(3000, 0, 1);

/** Years 2000 to 2999: the database keeps those exactly, and no coupon needs others (the fuzzer tried). */
export const instant = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 timestamp with an offset, e.g. 2026-12-01T09:00:00Z' })
  .refine((value) => Date.parse(value) >= EARLIEST && Date.parse(value) < LATEST, 'must be in the years 2000 to 2999')
  .transform((value) => new Date(value).toISOString());

/** API.md's create rules; times are normalized to UTC. A window may start in the past: issuing then opens at once. */
export const createCouponRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    totalQuantity: z.number().int().min(1).max(MAX_TOTAL_QUANTITY),
    discount: discountSchema,
    issueStartAt: instant,
    issueEndAt: instant,
    validFrom: instant,
    validUntil: instant,
    code: couponCode.optional(),
    eligibility: eligibilitySchema.optional(),
    /** Stock buckets: how many Redis slots (and so, on a cluster, masters) its admissions spread over. */
    buckets: z.number().int().min(1).max(MAX_BUCKETS).optional(),
    /** One coupon per value of this verified token claim (a person), rather than per account. */
    onePer: couponCreatedData.shape.onePer,
    /** An issue needs a human check the verifier (HUMAN_CHECK_URL) passed: header `Human-Check`. */
    humanCheck: z.boolean().optional(),
    /** `direct` (the default) or `queue`: a waiting room with a shuffled pre-queue and metered passes. */
    opening: couponCreatedData.shape.opening,
    /** Money: the currency (ISO 4217) the discount and these are in, the budget for all grants, a cap per order on a percentage. */
    currency: couponCreatedData.shape.currency,
    budget: couponCreatedData.shape.budget,
    maxDiscountPerOrder: couponCreatedData.shape.maxDiscountPerOrder,
  })
  .superRefine((c, ctx) => {
    if (Date.parse(c.issueStartAt) >= Date.parse(c.issueEndAt)) {
      ctx.addIssue({ code: 'custom', path: ['issueEndAt'], message: 'must be after issueStartAt' });
    }
    if (Date.parse(c.validFrom) >= Date.parse(c.validUntil)) {
      ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must be after validFrom' });
    }
    if ((c.buckets ?? 1) > 1 && c.onePer) {
      ctx.addIssue({ code: 'custom', path: ['onePer'], message: 'a coupon limited one per person is not split into stock buckets (yet)' });
    }
    if ((c.buckets ?? 1) > 1 && c.opening?.mode === 'queue') {
      ctx.addIssue({ code: 'custom', path: ['opening'], message: 'a coupon with a waiting room is not split into stock buckets: the room already meters its admissions' });
    }
    if (c.opening?.mode === 'queue' && c.opening.preQueueFrom && Date.parse(c.opening.preQueueFrom) > Date.parse(c.issueStartAt)) {
      ctx.addIssue({ code: 'custom', path: ['opening', 'preQueueFrom'], message: 'must not be after issueStartAt' });
    }
    if ((c.buckets ?? 1) > c.totalQuantity) {
      ctx.addIssue({ code: 'custom', path: ['buckets'], message: 'must not exceed totalQuantity (every bucket opens with a share of the stock)' });
    }
    if (Date.parse(c.issueEndAt) > Date.parse(c.validUntil)) {
      ctx.addIssue({ code: 'custom', path: ['issueEndAt'], message: 'must not be after validUntil' });
    }
    for (const [path, message] of moneyIssues(c)) ctx.addIssue({ code: 'custom', path: [path], message });
  });

/**
 * Money is in one currency, with amounts it can hold (no cent in yen), and one place keeps its budget: a coupon split
 * into stock buckets decides in many Redis slots, where no one script could keep a budget exact.
 */
function moneyIssues(c: { currency?: string; budget?: { amount: number }; maxDiscountPerOrder?: number; discount: { type: string; value: number }; buckets?: number }): [string, string][] {
  const issues: [string, string][] = [];
  const exponent = c.currency === undefined ? undefined : currencyExponent(c.currency);
  if (c.currency !== undefined && exponent === undefined) issues.push(['currency', 'must be an ISO 4217 currency code, e.g. EUR']);
  if (c.currency === undefined && (c.budget || c.maxDiscountPerOrder !== undefined)) issues.push(['currency', 'is required with a budget or a cap per order']);
  if (c.maxDiscountPerOrder !== undefined && c.discount.type !== 'PERCENT') issues.push(['maxDiscountPerOrder', 'caps a percentage discount only']);
  if (c.currency !== undefined && (c.buckets ?? 1) > 1) issues.push(['currency', 'a coupon with money is not split into stock buckets (yet)']);
  if (exponent === undefined) return issues;
  const amounts: [string, number | undefined][] = [['budget', c.budget?.amount], ['maxDiscountPerOrder', c.maxDiscountPerOrder], ['discount', c.discount.type === 'AMOUNT' ? c.discount.value : undefined]];
  for (const [path, amount] of amounts) if (amount !== undefined && toMinor(amount, exponent) === undefined) issues.push([path, `has more digits than ${c.currency} has (${exponent})`]);
  // The scripts' JSON keeps 14 significant digits: every sum of grants must stay below that, exactly.
  if (c.budget && (toMinor(c.budget.amount, exponent) ?? 0) > MAX_BUDGET_MINOR) issues.push(['budget', `must be at most ${MAX_BUDGET_MINOR} minor units of ${c.currency}`]);
  return issues;
}

export type CreateCouponRequest = z.infer<typeof createCouponRequest>;
