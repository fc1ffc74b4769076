import { z } from 'zod';

/** How stock moves between the buckets of a coupon split into stock buckets (coupons/admission/stock-buckets.ts). */

/** A stock bucket of a coupon (0 holds the coupon's own keys). */
export const bucketNumber = z.number().int().min(0).max(63);

/**
 * Stock moved between two buckets of one coupon (../coupons/buckets): the sequences `first`..`last`, out of
 * `fromBucket` (CouponStockMoved, in its outbox) and into `toBucket` (CouponStockReceived, in the other's),
 * once each per `transferId` however often either side is retried.
 */
export const couponStockMovedData = z.strictObject({
  transferId: z.uuid(),
  fromBucket: bucketNumber,
  toBucket: bucketNumber,
  /** last = first - 1: nothing (bucket 0 opening a bucket when it has no stock left). */
  first: z.number().int().min(1),
  last: z.number().int().min(0),
  /** Bucket 0 opening `toBucket`: the only transfer that may make a bucket; one gone later was lost, and stays so. */
  opens: z.literal(true).optional(),
});
