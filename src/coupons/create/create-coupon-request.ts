import { z } from 'zod';
import { couponCreatedData, discountSchema, eligibilitySchema, MAX_BUCKETS } from '../../events/coupon-events.ts';
import { couponCode } from '../codes/coupon-code.ts';
import { MAX_TOTAL_QUANTITY } from '../rules/coupon-rules.ts';

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
  });

export type CreateCouponRequest = z.infer<typeof createCouponRequest>;
