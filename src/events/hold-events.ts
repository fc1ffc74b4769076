import { z } from 'zod';

/** Holds at checkout (coupons/hold): a coupon reserved for an order, and the end of that reservation without a use. */

const issuedCouponId = z.string().min(1).max(64);
const userId = z.string().min(1).max(191);
const orderId = z.string().min(1).max(100);
/** The nth hold on this coupon, so a copy of an older hold, or of its end, is told from a new one. */
const holdSequence = z.number().int().min(1);

/** An issued coupon reserved at checkout for `orderId` until `heldUntilMs` (epoch ms): no other order may use it meanwhile. */
export const couponHeldData = z.strictObject({ issuedCouponId, userId, orderId, holdSequence, heldUntilMs: z.number().int() });

/** A hold over without a use: released by the order system or an admin, or lapsed (ended by whoever saw it first). */
export const couponHoldEndedData = z.strictObject({ issuedCouponId, userId, orderId, holdSequence, reason: z.enum(['RELEASED', 'EXPIRED']) });
