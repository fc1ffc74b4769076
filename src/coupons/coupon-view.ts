import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { CouponTable } from '../db/schema.ts';
import { discountSchema, type RequiredClaims } from '../events/coupon-events.ts';
import { openingSchema, type Opening } from '../events/queue-events.ts';
import type { CouponSnapshot } from './admission/admission-store.ts';
import { COUPON_STATUSES, couponStatus, currencyExponent, fromMinor, inUse, remaining, toMinor } from './rules/coupon-rules.ts';

const requiredClaimsView = z.record(z.string(), z.array(z.string())).nullable();

export const publicCouponSchema = z.object({
  id: z.string(),
  code: z.string().nullable(),
  name: z.string(),
  discount: discountSchema,
  totalQuantity: z.number().int(),
  remainingQuantity: z.number().int(),
  issueStartAt: z.string(),
  issueEndAt: z.string(),
  validFrom: z.string(),
  validUntil: z.string(),
  status: z.enum(COUPON_STATUSES),
  /** Who may claim it, so a client can say so: the claims required, and whether only an allow-list's users may. */
  eligibility: z.object({ requiredClaims: requiredClaimsView, allowList: z.boolean() }),
  /** One per person: the token claim that names a person (one coupon per value); null, one per account. */
  onePer: z.object({ claim: z.string() }).nullable(),
  /** Behind the bot gate: an issue needs a passed human check (header `Human-Check`). */
  humanCheck: z.boolean(),
  /** How issuing opens: directly, or through a waiting room (join, then claim with a pass). */
  opening: openingSchema,
});

export const adminCouponSchema = publicCouponSchema.extend({
  issuedCount: z.number().int(),
  /** In use now: a cancelled use is no longer counted. */
  usedCount: z.number().int(),
  revokedCount: z.number().int(),
  eligibility: z.object({
    requiredClaims: requiredClaimsView,
    allowList: z.object({ version: z.number().int(), size: z.number().int() }).nullable(),
  }),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
  /** How many stock buckets (Redis slots) its admissions spread over. */
  buckets: z.number().int(),
  /** A coupon with a currency: the cap per order, and the budget with what its uses in force were granted and what is left. */
  money: z.object({
    currency: z.string(), maxDiscountPerOrder: z.number().nullable(),
    budget: z.object({ amount: z.number(), spent: z.number(), left: z.number() }).nullable(),
  }).nullable(),
});

/** The money part of the admin view, amounts in the coupon's currency; null for a coupon without one. */
function moneyView(definition: { currency?: string; budget?: { amount: number }; maxDiscountPerOrder?: number }, spentMinor: number): z.infer<typeof adminCouponSchema>['money'] {
  const exponent = definition.currency === undefined ? undefined : currencyExponent(definition.currency);
  if (definition.currency === undefined || exponent === undefined) return null;
  const budgetMinor = definition.budget ? toMinor(definition.budget.amount, exponent)! : undefined;
  return {
    currency: definition.currency, maxDiscountPerOrder: definition.maxDiscountPerOrder ?? null,
    budget: budgetMinor === undefined ? null : { amount: definition.budget!.amount, spent: fromMinor(spentMinor, exponent), left: fromMinor(budgetMinor - spentMinor, exponent) },
  };
}

export function publicCouponView(id: string, s: CouponSnapshot): z.infer<typeof publicCouponSchema> {
  const d = s.definition;
  return {
    id,
    code: d.code ?? null,
    name: d.name,
    discount: d.discount,
    totalQuantity: d.totalQuantity,
    remainingQuantity: remaining({ totalQuantity: d.totalQuantity, issued: s.issuedCount }),
    issueStartAt: d.issueStartAt,
    issueEndAt: d.issueEndAt,
    validFrom: d.validFrom,
    validUntil: d.validUntil,
    status: couponStatus(s, s.now.getTime()),
    eligibility: publicEligibility(s.eligibility),
    onePer: d.onePer ?? null,
    humanCheck: d.humanCheck === true,
    opening: d.opening ?? { mode: 'direct' },
  };
}

/** The admin's view of eligibility, without the allow-list's version and size. */
const publicEligibility = (e: z.infer<typeof adminCouponSchema>['eligibility']): z.infer<typeof publicCouponSchema>['eligibility'] =>
  ({ requiredClaims: e.requiredClaims, allowList: e.allowList !== null });

export function adminCouponView(id: string, s: CouponSnapshot): z.infer<typeof adminCouponSchema> {
  return {
    ...publicCouponView(id, s),
    issuedCount: s.issuedCount,
    usedCount: s.usedCount,
    revokedCount: s.revokedCount,
    eligibility: s.eligibility,
    createdAt: s.createdAt.toISOString(),
    closedAt: s.closedAt?.toISOString() ?? null,
    buckets: s.definition.buckets ?? 1,
    money: moneyView(s.definition, s.budgetSpentMinor ?? 0),
  };
}

/** A coupon as the read model holds it (the admin view adds its counts and times); status computed at `now`. */
export function adminCouponRowView(row: Selectable<CouponTable>, now: number): z.infer<typeof adminCouponSchema> {
  const recorded = (row.definition ? JSON.parse(row.definition) : {}) as {
    buckets?: number; onePer?: { claim: string }; humanCheck?: boolean; opening?: Opening; currency?: string; budget?: { amount: number }; maxDiscountPerOrder?: number;
  };
  const definition = {
    name: row.name,
    totalQuantity: row.total_quantity,
    discount: { type: row.discount_type, value: Number(row.discount_value) } as z.infer<typeof discountSchema>,
    issueStartAt: row.issue_start_at.toISOString(),
    issueEndAt: row.issue_end_at.toISOString(),
    validFrom: row.valid_from.toISOString(),
    validUntil: row.valid_until.toISOString(),
  };
  return {
    id: row.id,
    code: row.code,
    ...definition,
    remainingQuantity: remaining({ totalQuantity: row.total_quantity, issued: row.issued_count }),
    status: couponStatus({ closed: row.status === 'CLOSED', issuedCount: row.issued_count, definition }, now),
    issuedCount: row.issued_count,
    usedCount: inUse({ usedCount: row.used_count, cancelledCount: row.cancelled_count }),
    revokedCount: row.revoked_count,
    eligibility: {
      requiredClaims: row.required_claims ? (JSON.parse(row.required_claims) as RequiredClaims) : null,
      allowList: row.allow_list_version === null ? null : { version: row.allow_list_version, size: row.allow_list_size ?? 0 },
    },
    createdAt: row.created_at.toISOString(),
    closedAt: row.closed_at?.toISOString() ?? null,
    buckets: recorded.buckets ?? 1,
    money: moneyView(recorded, Number(row.budget_spent_minor)),
    onePer: recorded.onePer ?? null,
    humanCheck: recorded.humanCheck === true,
    opening: recorded.opening ?? { mode: 'direct' },
  };
}

export function publicCouponRowView(row: Selectable<CouponTable>, now: number): z.infer<typeof publicCouponSchema> {
  const { issuedCount: _issued, usedCount: _used, revokedCount: _revoked, eligibility, createdAt: _created, closedAt: _closed, buckets: _buckets, money: _money, ...rest } = adminCouponRowView(row, now);
  return { ...rest, eligibility: publicEligibility(eligibility) };
}
