import type { Redis } from 'ioredis';
import { chunks } from '../../batching/chunks.ts';

/** A restore cut short between writing its own keys and putting them in place leaves nothing for long. */
const STAGED_TTL_MS = 3_600_000;

/**
 * Fills one of a restore's own keys (a hash of `entries`, or a set of `members`), a thousand at a time, each
 * write carrying the key's TTL with it: a restore cut short anywhere leaves nothing for long.
 */
export async function stage(redis: Redis, key: string, content: { entries: readonly (readonly [string | number, string | number])[] } | { members: readonly string[] }): Promise<void> {
  const parts = 'entries' in content ? chunks([...content.entries], 1_000) : chunks([...content.members], 1_000);
  for (const part of parts) {
    const m = redis.multi();
    if ('entries' in content) m.hset(key, Object.fromEntries(part as [string, string][]));
    else m.sadd(key, ...(part as string[]));
    await m.pexpire(key, STAGED_TTL_MS).exec();
  }
}
