import type { Redis } from 'ioredis';
import { BoundedCache, stringBytes } from '../../memory/bounded-cache.ts';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';

/** Where a code points: its own hash tag, so on Redis Cluster each code lives in a slot of its own. */
const keyOf = (code: string) => `code:{${code}}`;
/** Resolved codes kept, in bytes: 12,000 to 24,000 codes (the older generation dropped whole). */
const RESOLVED_BYTES = 4 * 1024 * 1024;

/**
 * The code → coupon index the by-code routes resolve through. A code is reserved before its coupon is created
 * and never released: a code once given out keeps naming that coupon (a create that failed after the
 * reservation leaves it pointing at an id its retry will create).
 */
export class CouponCodes {
  /** Codes never move, so a resolved one is kept: the by-code routes then cost no more Redis calls than the id routes. */
  private readonly resolved = new BoundedCache<string, string>(RESOLVED_BYTES, (code, couponId) => 100 + stringBytes(code) + stringBytes(couponId));

  private readonly redis: Redis;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  async reserve(code: string, couponId: string): Promise<'RESERVED' | 'TAKEN'> {
    const holder = await this.redis.set(keyOf(code), couponId, 'NX', 'GET').catch(whenRedisUnavailable);
    return holder === null || holder === couponId ? 'RESERVED' : 'TAKEN';
  }

  async resolve(code: string): Promise<string | undefined> {
    const known = this.resolved.get(code);
    if (known) return known;
    const couponId = (await this.redis.get(keyOf(code)).catch(whenRedisUnavailable)) ?? undefined;
    if (couponId) {
      this.resolved.set(code, couponId);
    }
    return couponId;
  }
}
