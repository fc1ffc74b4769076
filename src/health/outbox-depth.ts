import { shardKeys } from '../coupons/admission/keys.ts';
import type { Redis } from '../redis/redis-client.ts';

export interface OutboxDepth {
  /** Pending events per shard, in shard order. */
  pending: number[];
  bound: number;
  /** Shards holding as many pending events as they may: their coupons' changes answer 503 EVENT_LOG_UNAVAILABLE. */
  full: number[];
}

/** How far the relay is behind, shard by shard (one XLEN each: the relay deletes what Kafka acknowledged). */
export async function outboxDepth(redis: Redis, shards: number, bound: number): Promise<OutboxDepth> {
  const pending = await Promise.all(Array.from({ length: shards }, (_, shard) => redis.xlen(shardKeys(shard).outbox)));
  return { pending, bound, full: pending.flatMap((n, shard) => (n >= bound ? [shard] : [])) };
}
