import type { Hold, Redemption } from '../rules/coupon-rules.ts';

/**
 * An issued coupon's redemption as the admission scripts keep it in the coupon's used hash (see `redemption`
 * in prelude.lua): JSON `{s, at, g, u, o}`, or a bare instant for a use recorded before cancellations existed.
 */
interface Stored {
  s: 'U' | 'C' | 'R';
  at: number;
  g: number;
  u?: string;
  o?: string;
  /** A use on a coupon with a currency: the discount it was granted, in minor units (given back by its cancellation). */
  d?: number;
}

/**
 * A redemption written by an earlier version without what a cancellation is judged by: a bare instant (no
 * holder, no order), or a revoked cancelled use without its order.
 */
export function isLegacyRedemption(value: string): boolean {
  if (!value.startsWith('{')) return true;
  const v = JSON.parse(value) as Stored;
  return v.s === 'R' && v.g > 0 && v.o === undefined;
}

/** As Redis keeps it; a use from before cancellations kept no holder (''), and is read again from the log before a cancellation. */
export function parseRedemption(value: string): Redemption {
  if (!value.startsWith('{')) return { state: 'USED', at: Number(value), generation: 1, orderId: null, userId: '' };
  const v = JSON.parse(value) as Stored;
  const userId = v.u ?? '';
  const orderId = v.o ? v.o : null;
  if (v.s === 'C') return { state: 'CANCELLED', generation: v.g, orderId, userId };
  if (v.s === 'R') return { state: 'REVOKED', at: v.at, generation: v.g, orderId: v.g > 0 ? orderId : null, userId };
  return { state: 'USED', at: v.at, generation: v.g, orderId, userId, ...(v.d === undefined ? {} : { discountMinor: v.d }) };
}

export function redemptionValue(r: Redemption): string {
  const stored: Stored = {
    s: r.state === 'USED' ? 'U' : r.state === 'CANCELLED' ? 'C' : 'R', at: 'at' in r ? r.at : 0, g: r.generation, u: r.userId, o: r.orderId ?? '',
    ...(r.state === 'USED' && r.discountMinor !== undefined ? { d: r.discountMinor } : {}),
  };
  return JSON.stringify(stored);
}

const ENDED = { RELEASED: 'R', EXPIRED: 'X', USED: 'U', REVOKED: 'V' } as const;

/** A hold as the admission scripts keep it in the coupon's holds hash (see `hold_of` in prelude.lua). */
export function holdValue(h: Hold): string {
  return JSON.stringify({ o: h.orderId, u: h.userId, x: h.until, n: h.holdSequence, e: h.ended ? ENDED[h.ended] : '' });
}
