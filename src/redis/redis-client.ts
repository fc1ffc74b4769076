import { Redis, ReplyError } from 'ioredis';
import { DependencyUnavailable } from '../runtime/dependency-unavailable.ts';

export type { Redis };

/**
 * Commands fail at once while Redis is unreachable (no offline queue), so the API answers 503
 * instead of holding requests; auto-pipelining batches concurrent commands into one round trip.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    connectTimeout: 3_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  redis.on('error', () => {
    // Reconnection is automatic; callers see command failures and /readyz reports the outage.
  });
  await redis.connect();
  return redis;
}

const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * Connection failures, timeouts and Redis saying it cannot serve now become DependencyUnavailable (503);
 * any other reply error is a bug of ours and stays a 500.
 */
export function whenRedisUnavailable(error: unknown): never {
  if (!(error instanceof ReplyError) || TRANSIENT_REPLY.test((error as Error).message)) throw new DependencyUnavailable('redis', error);
  throw error;
}
