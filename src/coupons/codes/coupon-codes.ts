import type { Redis } from 'ioredis';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';

/** Where a code points: its own hash tag, so on Redis Cluster each code lives in a slot of its own. */
const keyOf = (code: string) => `code:{${code}}`;
const RESOLVED_KEPT = 100_000;

/**
 * The code → coupon index the by-code routes resolve through. A code is reserved before its coupon is created
 * and never released: a code once given out keeps naming that coupon (a create that failed after the
 * reservation leaves it pointing at an id its retry will create).
 */
export class CouponCodes {
  /** Codes never move, so a resolved one is kept: the by-code routes then cost no more Redis calls than the id routes. */
  private readonly resolved = new Map<string, string>();

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
      if (this.resolved.size >= RESOLVED_KEPT) this.resolved.clear();
      this.resolved.set(code, couponId);
    }
    return couponId;
  }
}
