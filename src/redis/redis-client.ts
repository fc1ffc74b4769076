import { Redis } from 'ioredis';

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
