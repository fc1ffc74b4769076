import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import { identityOf } from '../auth/authenticate.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { AdmissionStore, EventMeta } from './admission/admission-store.ts';
import type { CouponCodes } from './codes/coupon-codes.ts';
import type { SettledCoupons } from './sold-out-memory/settled-coupons.ts';

export interface CouponRouteDeps {
  admission: AdmissionStore;
  codes: CouponCodes;
  /** Sold-out and closed coupons this process can answer for without Redis. */
  settled: SettledCoupons;
  redis: Redis;
  verify: TokenVerifier;
  /** Requests per user per window on issue and use. */
}

/** What every event records about the request that caused it. */
export const eventMeta = (ctx: Context): EventMeta => ({ requestId: ctx.state.requestId as string, actor: identityOf(ctx).userId });
