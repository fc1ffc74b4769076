import { shardKeys } from '../../src/outbox/outbox.ts';
import type { Redis } from '../../src/redis/redis-client.ts';
import type { ServiceName } from '../../src/stack/local-stack.ts';
import { eventually } from './eventually.ts';

/** Who serves a slot now: its master's and replicas' host:port, from CLUSTER SLOTS. */
export async function servedBy(redis: Redis, slot: number): Promise<{ master: string; replicas: string[] }> {
  const ranges = await redis.cluster('SLOTS');
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no node serves slot ${slot}`);
  const [, , master, ...replicas] = range as unknown as [number, number, [string, number], ...[string, number][]];
  return { master: `${master[0]}:${master[1]}`, replicas: replicas.map((r) => `${r[0]}:${r[1]}`) };
}

/**
 * Once a replica has taken over `slot` from `victim` (a master killed): only then may the victim come back, as the
 * new master's replica. Back sooner, it would rejoin as the master with its older file, and its replica would copy
 * that, losing writes the replica had confirmed (Redis's own limit; a supervisor must wait for the failover).
 */
export async function failedOver(redis: Redis, slot: number, victim: string): Promise<void> {
  await eventually(`a replica to take over slot ${slot} from ${victim}`, async () => (await servedBy(redis, slot).catch(() => ({ master: victim }))).master, (master) => master !== victim, { timeoutMs: 60_000, everyMs: 200 });
}

export const slotOfShard = async (redis: Redis, shard: number): Promise<number> => Number(await redis.cluster('KEYSLOT', shardKeys(shard).outbox));

/** The local stack's name for the Redis node at host:port (`redis-1` … `redis-6`, in the order the stack lists them). */
export function redisNodeName(clusterNodes: readonly string[], address: string): ServiceName {
  const index = clusterNodes.indexOf(address);
  if (index < 0) throw new Error(`${address} is not one of the stack's nodes ${clusterNodes.join(', ')}`);
  return `redis-${index + 1}` as ServiceName;
}
