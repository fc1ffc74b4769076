import type { Redis } from 'ioredis';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';
import { uuidv7 } from '../../ids/ids.ts';

const KEPT_MS = 24 * 3_600_000;

/**
 * A create retried with its Idempotency-Key must land on the coupon the first try chose: the key's first
 * request claims a coupon id (SET NX GET, one step), and every retry reads the same one. The create script
 * then answers the retry from its memory of the decision. Claiming an id and never creating it is harmless:
 * the next retry creates it.
 */
export async function couponIdForKey(redis: Redis, request: AdmissionRequest): Promise<{ couponId: string } | 'KEY_REUSED'> {
  const fresh = JSON.stringify({ couponId: uuidv7(), fingerprint: request.fingerprint });
  const claimed = await redis.set(`idem:{${request.requestId}}:coupon`, fresh, 'PX', KEPT_MS, 'NX', 'GET').catch(whenRedisUnavailable);
  const { couponId, fingerprint } = JSON.parse(claimed ?? fresh) as { couponId: string; fingerprint: string };
  return fingerprint === request.fingerprint ? { couponId } : 'KEY_REUSED';
}
