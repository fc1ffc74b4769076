import type { Redis } from 'ioredis';
import { Problem } from '../http/problem.ts';
import { whenRedisUnavailable } from '../redis/redis-client.ts';

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}`;

/**
 * Counts attempts per key in fixed windows in Redis (shared by every API copy); past the limit it answers
 * 429 with Retry-After, the seconds until the window resets.
 */
export async function limitAttempts(redis: Redis, key: string, limit: number, windowSeconds: number): Promise<void> {
  const [count, ttl] = (await redis.eval(HIT, 1, `ratelimit:${key}`, windowSeconds).catch(whenRedisUnavailable)) as [number, number];
  if (count > limit) {
    const retryAfter = String(Math.max(1, ttl));
    throw new Problem('RATE_LIMITED', `Too many attempts; retry in ${retryAfter} s`, {}, { 'Retry-After': retryAfter });
  }
}
