import { createHash } from 'node:crypto';
import { z } from 'zod';

/** No 0/O, 1/I/L or U/V look-alikes: a generated code survives being read aloud or copied by hand. */
const UNAMBIGUOUS = '23456789ABCDEFGHJKMNPQRSTWXYZ';

/**
 * A coupon code as people type it: letters, digits and dashes, 4 to 32 of them, case-insensitive (kept in
 * capitals). Admins may choose any such code; generated ones use only unambiguous characters.
 */
export const couponCode = z.string().trim().toUpperCase().regex(/^[A-Z0-9](?:[A-Z0-9-]{2,30})[A-Z0-9]$/, 'must be 4 to 32 letters, digits or dashes, starting and ending with a letter or digit');

/**
 * The code a coupon gets when the admin names none, e.g. `K7QX-M2PD-9HTW`: derived from the coupon id, so a
 * create retried under its Idempotency-Key gets the same code, not a second one.
 */
export function generatedCode(couponId: string): string {
  const digest = createHash('sha256').update(couponId).digest();
  const chars = Array.from({ length: 12 }, (_, i) => UNAMBIGUOUS[digest.readUInt16BE(i * 2) % UNAMBIGUOUS.length]);
  return [0, 4, 8].map((at) => chars.slice(at, at + 4).join('')).join('-');
}
