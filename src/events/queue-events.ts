import { z } from 'zod';

/**
 * The waiting room's events (coupons/queue): who joined and when, the seed the pre-queue was shuffled with, the
 * passes granted and the ones that lapsed. A replay of them (queue-line.ts) gives every position again.
 */

/** A person's value: the coupon's person claim, or the account's subject on a coupon without one. */
const person = z.string().min(1).max(200);

/**
 * How a coupon opens: `direct` (the default: first come, first served) or `queue`: askers join a waiting room,
 * those who joined before the start are shuffled at the start, and passes to claim are granted at
 * `admitPerSecond`, each good for `passTtlSeconds`. Joining opens at `preQueueFrom` (absent: at creation).
 */
export const openingSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('direct') }),
  z.strictObject({
    mode: z.literal('queue'),
    admitPerSecond: z.number().int().min(1).max(10_000),
    passTtlSeconds: z.number().int().min(10).max(3_600),
    preQueueFrom: z.iso.datetime({ offset: true }).optional(),
  }),
]);
export type Opening = z.infer<typeof openingSchema>;

/** `ticket`: the nth join; `phase`: `pre` (before the start: shuffled at it) or `line` (after: served in arrival order). */
export const couponQueueJoinedData = z.strictObject({ person, userId: z.string().min(1).max(191), ticket: z.number().int().min(1), phase: z.enum(['pre', 'line']) });

/** The pre-queue shuffled at the start: its `preQueue` people placed by the keyed hash of `seed` and each (queue-line.ts). */
export const couponQueueShuffledData = z.strictObject({ seed: z.string().min(16).max(64), preQueue: z.number().int().min(0) });

/** Passes granted, in line order from place `from` (0-based), each good until `expiresAtMs` (epoch ms). */
export const couponPassesGrantedData = z.strictObject({ persons: z.array(person).min(1).max(10_000), from: z.number().int().min(0), expiresAtMs: z.number().int() });

/** Passes that lapsed unused: their stock is free for those behind. */
export const couponPassesExpiredData = z.strictObject({ persons: z.array(person).min(1).max(1_000) });
