import { Cluster, Redis, ReplyError } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { DependencyUnavailable } from '../dependencies/dependency-unavailable.ts';

export type { Redis };

export interface RedisSettings {
  /** How long a command may go unanswered before its caller is told; the command itself may still run. */
  commandTimeoutMs: number;
}

/** One Redis (`url`), or a Redis Cluster named by seed nodes (`clusterNodes`, `host:port`). */
export interface RedisTarget {
  url: string;
  clusterNodes?: string[];
}

/**
 * Commands fail at once while Redis is unreachable (no offline queue), so the API answers 503 instead of
 * holding requests; auto-pipelining batches concurrent commands into one round trip. A command that was
 * sent and not answered is never sent again by the client (a resent admission would decide twice): it
 * fails, and the caller, who knows whether the command is safe to repeat, decides.
 *
 * With cluster nodes the client is an ioredis `Cluster`: every command goes to the master of its key's
 * slot, and MOVED and ASK (a slot being moved, a failover) are followed by the client, which is safe
 * because a redirected command was not run. It answers every keyed command a single Redis does, so it is
 * handed around under the same type; node-wide commands (SCAN, FLUSHDB, CONFIG) go through `masterNodes`.
 */
export async function connectRedis(target: string | RedisTarget, settings: RedisSettings, logger?: Logger): Promise<Redis> {
  const { url, clusterNodes } = typeof target === 'string' ? { url: target, clusterNodes: undefined } : target;
  const perNode = {
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: 3_000,
  };
  const redis = clusterNodes
    ? new Cluster(clusterNodes.map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) })), {
      lazyConnect: true,
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      scaleReads: 'master',
      maxRedirections: 16,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 2_000,
      // A master that died answers nothing, so no MOVED tells the client its replica took over: ask every second.
      slotsRefreshInterval: 1_000,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      redisOptions: perNode,
    })
    : new Redis(url, { ...perNode, lazyConnect: true, enableAutoPipelining: true, enableOfflineQueue: false, retryStrategy: (attempt) => Math.min(attempt * 100, 2_000) });
  if (logger) logRedisErrors(redis, logger);
  await redis.connect();
  return redis as Redis;
}

/** Connection errors repeat every reconnect attempt during an outage: the first is logged, then one line per 10 s. */
export function logRedisErrors(redis: { on(event: 'error', listener: (error: Error) => void): unknown }, logger: Logger, everyMs = 10_000): void {
  let lastLogged = 0;
  let suppressed = 0;
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged < everyMs) {
      suppressed++;
      return;
    }
    logger.warn({ err: error, suppressed }, 'redis connection error; reconnecting');
    lastLogged = now;
    suppressed = 0;
  });
}

// MOVED and ASK reach us only from a pipeline whose commands did not all fail alike (ioredis follows them
// elsewhere): the command was not run on that node, so, like the rest, it changed nothing.
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOSCRIPT|MOVED|ASK)\b/;
const NOT_SENT = /Stream isn't writeable|enableOfflineQueue/;

/**
 * What a failed command did: `not-sent` never reached Redis (or Redis refused it before running it), so
 * nothing changed; `unknown` was sent and not answered, so it may have run; `bug` is a reply error of ours.
 */
export type RedisFailure = 'not-sent' | 'unknown' | 'bug';

export function classifyRedisFailure(error: unknown): RedisFailure {
  if (error instanceof ReplyError) return TRANSIENT_REPLY.test((error as Error).message) ? 'not-sent' : 'bug';
  return error instanceof Error && NOT_SENT.test(error.message) ? 'not-sent' : 'unknown';
}

/**
 * For commands whose repetition is harmless (reads, counters, claims): any unavailability becomes
 * DependencyUnavailable (503); a reply error that is a bug of ours stays a 500.
 */
export function whenRedisUnavailable(error: unknown): never {
  const failure = classifyRedisFailure(error);
  if (failure === 'bug') throw error;
  throw new DependencyUnavailable('redis', error, failure === 'not-sent');
}

export const isCluster = (redis: Redis): boolean => (redis as unknown) instanceof Cluster;

/** Where a node-wide command must go: every master of a cluster, or the one Redis. */
export function masterNodes(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/**
 * After a MOVED that ioredis did not follow (one inside a pipeline): learn the cluster's slots again, so the
 * next call goes to the slot's new master. Nothing to do on a single Redis.
 */
export function refreshSlotsAfter(redis: Redis, error: unknown): void {
  if (isCluster(redis) && error instanceof ReplyError && /^MOVED\b/.test((error as Error).message)) (redis as unknown as Cluster).refreshSlotsCache();
}

/** On a cluster, the master (host:port) serving each slot now, from CLUSTER SLOTS; undefined on one Redis. */
export async function slotMasters(redis: Redis): Promise<((slot: number) => string) | undefined> {
  if (!isCluster(redis)) return undefined;
  const ranges = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number], ...unknown[]][];
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    return range ? `${range[2][0]}:${range[2][1]}` : 'unserved';
  };
}

/** Empties every node (tests, benchmarks and tools that own their Redis). */
export async function flushEveryNode(redis: Redis): Promise<void> {
  await Promise.all(masterNodes(redis).map((node) => node.flushdb()));
}

/**
 * Refuses a Redis that cannot hold admission state safely: one that may evict keys under memory pressure
 * (eviction would silently forget who holds a coupon), and, when decisions must reach a replica, a master
 * without one. A Redis that does not let us read its settings (some managed services hide CONFIG) is let
 * through with a warning, since that cannot be checked from here.
 */
export async function assertSafeForAdmission(redis: Redis, options: { replicas: 0 | 1 }, logger: Logger): Promise<void> {
  for (const node of masterNodes(redis)) {
    const name = `Redis ${node.options.host}:${node.options.port}`;
    try {
      const policy = ((await node.config('GET', 'maxmemory-policy')) as string[])[1];
      if (policy !== 'noeviction') throw new Error(`${name} has maxmemory-policy ${policy}: it may evict admission state (who holds a coupon). Set maxmemory-policy noeviction.`);
    } catch (error) {
      if (error instanceof ReplyError) logger.warn({ err: error }, `could not read ${name}'s maxmemory-policy; make sure it is noeviction`);
      else throw error;
    }
    if (options.replicas === 1) {
      const replicas = Number(/connected_slaves:(\d+)/.exec(await node.info('replication'))?.[1] ?? 0);
      if (replicas < 1) throw new Error(`ADMISSION_REPLICAS=1, but ${name} has no connected replica: every admission would wait for one in vain`);
    }
  }
}
