import type { Redis } from 'ioredis';
import { shardKeys } from '../outbox/outbox.ts';
import { refreshSlotsAfter } from '../redis/redis-client.ts';

/**
 * KEYS: lease, epoch. ARGV: holder, leaseMs. A held lease is renewed; a free one is taken with a new
 * fencing token (the shard's epoch, incremented on every change of hands). Answers the token, or 0.
 */
const ACQUIRE_OR_RENEW = `
local current = redis.call('GET', KEYS[1])
if current then
  local holder, token = string.match(current, '^(.*)/(%d+)$')
  if holder ~= ARGV[1] then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(token)
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '/' .. token, 'PX', ARGV[2])
return token`;

/** KEYS: lease. ARGV: holder/token, leaseMs. Renews only the lease this token names: 1, or 0 if it changed hands. */
const RENEW_FENCED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * KEYS: lease, outbox, dead letters. ARGV: holder/token, dead letters (JSON list of flat field lists), ids….
 * Deletes what was sent (and records what was dead-lettered) only while the lease is still this token's:
 * a relay that lost its shard mid-send can never delete what the new holder owns.
 */
const FINISH_FENCED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, fields in ipairs(cjson.decode(ARGV[2])) do redis.call('XADD', KEYS[3], '*', unpack(fields)) end
for i = 3, #ARGV, 500 do redis.call('XDEL', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV))) end
return 1`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface Lease {
  shard: number;
  /** The fencing token: every acquisition of the shard gets a higher one. */
  token: number;
}

/**
 * One relay at a time reads a shard's outbox, so a coupon's events reach Kafka in admission order while
 * N relays share the shards. A relay that dies loses its leases when they expire and another takes over.
 * Every step that acts on a shard (renewing before a send, deleting after it) names the token it was
 * acquired with, so a relay that stalled past its lease is fenced out instead of acting for the new holder.
 */
export class ShardLeases {
  private readonly redis: Redis;
  private readonly holder: string;
  private readonly shards: number;
  readonly leaseMs: number;
  /** 1: a renewal also waits until a replica has everything written to the shard before it (see `renew`). */
  private readonly replicas: 0 | 1;
  private readonly replicaWaitMs: number;

  constructor(redis: Redis, holder: string, shards: number, leaseMs: number, replicas: 0 | 1 = 0, replicaWaitMs = 1_000) {
    this.redis = redis;
    this.holder = holder;
    this.shards = shards;
    this.leaseMs = leaseMs;
    this.replicas = replicas;
    this.replicaWaitMs = replicaWaitMs;
  }

  private value(lease: Lease): string {
    return `${this.holder}/${lease.token}`;
  }

  /** Acquires free shards and renews held ones; returns the leases this relay holds now. */
  async refresh(): Promise<Lease[]> {
    const all = Array.from({ length: this.shards }, (_, shard) => shard);
    const tokens = await Promise.all(all.map((shard) => {
      const k = shardKeys(shard);
      return this.redis.eval(ACQUIRE_OR_RENEW, 2, k.relayLease, k.relayEpoch, this.holder, this.leaseMs) as Promise<number>;
    }));
    return all.flatMap((shard) => (tokens[shard]! > 0 ? [{ shard, token: tokens[shard]! }] : []));
  }

  /**
   * Renews the lease this token names; false when the shard has changed hands. With `replicas: 1` the
   * renewal is followed by `WAIT 1` on the shard's node: the renewal is a write made after the entries about
   * to be sent were read, so once a replica has it, it has them too, and a failover of that node cannot
   * take back an event that reached the log. False too when no replica confirms in time (sent later).
   */
  async renew(lease: Lease): Promise<boolean> {
    const key = shardKeys(lease.shard).relayLease;
    if (this.replicas === 0) return (await this.redis.eval(RENEW_FENCED, 1, key, this.value(lease), this.leaseMs)) === 1;
    const [[renewError, renewed], [waitError, acked]] = (await this.redis.pipeline()
      .eval(RENEW_FENCED, 1, key, this.value(lease), this.leaseMs)
      .call('WAIT', 1, this.replicaWaitMs)
      .exec()) as [[Error | null, unknown], [Error | null, unknown]];
    if (renewError) refreshSlotsAfter(this.redis, renewError);
    if (renewError ?? waitError) throw renewError ?? waitError;
    return renewed === 1 && Number(acked) >= 1;
  }

  /** Deletes sent entries and records dead letters, if the lease is still this token's; false if fenced out. */
  async finish(lease: Lease, sentIds: string[], deadLetters: string[][]): Promise<boolean> {
    const k = shardKeys(lease.shard);
    const done = await this.redis.eval(FINISH_FENCED, 3, k.relayLease, k.outbox, k.deadLetters, this.value(lease), JSON.stringify(deadLetters), ...sentIds);
    return done === 1;
  }

  async release(leases: Lease[]): Promise<void> {
    await Promise.all(leases.map((lease) => this.redis.eval(RELEASE, 1, shardKeys(lease.shard).relayLease, this.value(lease))));
  }
}
