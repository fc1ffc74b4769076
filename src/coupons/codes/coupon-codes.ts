import type { Redis } from 'ioredis';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';

/** Where a code points: its own hash tag, so on Redis Cluster each code lives in a slot of its own. */
const keyOf = (code: string) => `code:{${code}}`;

/**
 * The code → coupon index the by-code routes resolve through. A code is reserved before its coupon is created
 * and never released: a code once given out keeps naming that coupon (a create that failed after the
 * reservation leaves it pointing at an id its retry will create).
 */
export class CouponCodes {
  constructor(private readonly redis: Redis) {}

  async reserve(code: string, couponId: string): Promise<'RESERVED' | 'TAKEN'> {
    const holder = await this.redis.set(keyOf(code), couponId, 'NX', 'GET').catch(whenRedisUnavailable);
    return holder === null || holder === couponId ? 'RESERVED' : 'TAKEN';
  }

  async resolve(code: string): Promise<string | undefined> {
    return (await this.redis.get(keyOf(code)).catch(whenRedisUnavailable)) ?? undefined;
  }
}
