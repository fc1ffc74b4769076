import { z } from 'zod';

/**
 * Money in the events (coupons/rules/money.ts): a coupon's currency, budget and cap per order, as created, and
 * what each use granted and what the budget has spent after it, in the currency's minor units.
 */

/** Since money: the currency amounts are in (ISO 4217); with it a `budget` for all grants and, on a percentage, a cap per order. */
export const couponMoney = {
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  budget: z.strictObject({ amount: z.number().positive().max(1_000_000_000_000) }).optional(),
  maxDiscountPerOrder: z.number().positive().max(1_000_000_000).optional(),
};

/**
 * The budget after a change of it: spent (uses in force) in minor units, and the coupon's nth change of its budget, so
 * a read model takes the latest and a late copy changes nothing.
 */
export const budgetAfter = {
  budgetSpentMinor: z.number().int().min(0).optional(),
  budgetRevision: z.number().int().min(1).optional(),
};

/** What a use on a coupon with a currency granted, and the order total it was computed from, in its minor units (so an audit can recompute it). */
export const granted = {
  discountMinor: z.number().int().min(0).optional(),
  orderTotalMinor: z.number().int().min(0).optional(),
  currency: couponMoney.currency,
};
