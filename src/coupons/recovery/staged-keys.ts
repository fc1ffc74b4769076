import type { Redis } from 'ioredis';
import { chunks } from '../../batching/chunks.ts';

/** A restore cut short between writing its own keys and putting them in place leaves nothing for long. */
const STAGED_TTL_MS = 3_600_000;

/**
 * Fills one of a restore's own keys, a thousand items at a time, each
 * write carrying the key's TTL with it: a restore cut short anywhere leaves nothing for long.
 */
export async function stage(redis: Redis, key: string, content: Staged): Promise<void> {
  const items = 'entries' in content ? content.entries : 'members' in content ? content.members : 'scored' in content ? content.scored : content.items;
  for (const part of chunks([...items], 1_000)) {
    const m = redis.multi();
    if ('entries' in content) m.hset(key, Object.fromEntries(part as [string, string][]));
    else if ('members' in content) m.sadd(key, ...(part as string[]));
    else if ('scored' in content) m.zadd(key, ...(part as [string, number][]).flatMap(([member, score]) => [score, member]));
    else m.rpush(key, ...(part as string[]));
    await m.pexpire(key, STAGED_TTL_MS).exec();
  }
}

/** A hash's entries, a set's members, a sorted set's members with their scores, or a list's items. */
export type Staged =
  | { entries: readonly (readonly [string | number, string | number])[] }
  | { members: readonly string[] }
  | { scored: readonly (readonly [string, number])[] }
  | { items: readonly string[] };
