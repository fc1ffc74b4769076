import type { Redis } from 'ioredis';
import { shardKeys } from '../coupons/admission/keys.ts';

const ACQUIRE_OR_RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * One relay at a time reads a shard's outbox, so a coupon's events reach Kafka in admission order while
 * N relays share the shards. A relay that dies loses its leases when they expire and another takes over.
 */
export class ShardLeases {
  constructor(
    private readonly redis: Redis,
    private readonly holder: string,
    private readonly shards: number,
    readonly leaseMs: number,
  ) {}

  /** Acquires free shards and renews held ones; returns the shards this relay holds now. */
  async refresh(): Promise<number[]> {
    const all = Array.from({ length: this.shards }, (_, shard) => shard);
    const held = await Promise.all(all.map((shard) => this.redis.eval(ACQUIRE_OR_RENEW, 1, shardKeys(shard).relayLease, this.holder, this.leaseMs)));
    return all.filter((shard) => held[shard] === 1);
  }

  async releaseAll(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.shards }, (_, shard) => this.redis.eval(RELEASE, 1, shardKeys(shard).relayLease, this.holder)),
    );
  }
}
