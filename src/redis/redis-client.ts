import { Redis, ReplyError } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { DependencyUnavailable } from '../runtime/dependency-unavailable.ts';

export type { Redis };

export interface RedisSettings {
  /** How long a command may go unanswered before its caller is told; the command itself may still run. */
  commandTimeoutMs: number;
}

/**
 * Commands fail at once while Redis is unreachable (no offline queue), so the API answers 503 instead of
 * holding requests; auto-pipelining batches concurrent commands into one round trip. A command that was
 * sent and not answered is never sent again by the client (a resent admission would decide twice): it
 * fails, and the caller, who knows whether the command is safe to repeat, decides.
 */
export async function connectRedis(url: string, settings: RedisSettings, logger?: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: 3_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  if (logger) logRedisErrors(redis, logger);
  await redis.connect();
  return redis;
}

/** Connection errors repeat every reconnect attempt during an outage: the first is logged, then one line per 10 s. */
export function logRedisErrors(redis: Pick<Redis, 'on'>, logger: Logger, everyMs = 10_000): void {
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

const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOSCRIPT)\b/;
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
