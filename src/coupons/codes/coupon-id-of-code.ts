import { problemOf } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { NO_CODE } from '../coupon-refusals.ts';
import { couponCode } from './coupon-code.ts';
import type { CouponCodes } from './coupon-codes.ts';

/** The coupon a code names, for the by-code routes: a malformed code is 400, an unknown one 404. */
export async function couponIdOfCode(codes: CouponCodes, raw: string): Promise<string> {
  const code = validate(couponCode, raw, 'path');
  const couponId = await codes.resolve(code);
  if (!couponId) throw problemOf(NO_CODE, { code });
  return couponId;
}
