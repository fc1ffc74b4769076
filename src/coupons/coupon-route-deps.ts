import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import { identityOf } from '../auth/authenticate.ts';
import type { AdmissionStore, EventMeta } from './admission/admission-store.ts';
import type { CodeGuesses } from './codes/code-guesses.ts';
import type { HumanCheck } from './human-check/human-check.ts';
import type { CouponCodes } from './codes/coupon-codes.ts';
import type { WaitingRooms } from './queue/waiting-rooms.ts';
import type { SettledCoupons } from './sold-out-memory/settled-coupons.ts';

export interface CouponRouteDeps {
  admission: AdmissionStore;
  codes: CouponCodes;
  /** Misses on the by-code routes, throttled per caller and per address. */
  guesses: CodeGuesses;
  /** The bot gate's verifier. */
  humanCheck: HumanCheck;
  /** The waiting rooms this process steps and streams, and the passes they sign. */
  rooms: WaitingRooms;
  /** Sold-out and closed coupons this process can answer for without Redis. */
  settled: SettledCoupons;
  redis: Redis;
}

/** The path parameter of every route about one coupon, described once for the OpenAPI document. */
export const COUPON_ID_PARAM = { couponId: 'The coupon id (UUIDv7)' };

/** What every event records about the request that caused it. */
export const eventMeta = (ctx: Context): EventMeta => ({ requestId: ctx.state.requestId as string, actor: identityOf(ctx).userId });
