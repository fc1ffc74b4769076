import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import { whenRedisUnavailable } from '../redis/redis-client.ts';
import { Problem } from './problem.ts';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const KEY = /^[\x21-\x7e]{1,200}$/;
const PENDING_MS = 30_000;
const KEPT_MS = 24 * 3_600_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * `Idempotency-Key`: the same caller, key, route and body replays the first successful answer; the same key
 * with another request is 422. A key is held while its first request runs (a concurrent retry gets 409) and
 * released if that request fails, so a retry after a failure runs again.
 */
export async function withIdempotency(ctx: Context, redis: Redis, callerId: string, rawBody: string, handle: () => Promise<Reply>): Promise<void> {
  if (ctx.headers['idempotency-key'] === undefined) return send(ctx, await handle());
  const key = ctx.get('idempotency-key');
  if (!KEY.test(key)) {
    throw new Problem('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 200 visible ASCII characters', {
      errors: [{ path: 'header.Idempotency-Key', message: 'Invalid format' }],
    });
  }
  const fingerprint = sha256(`${ctx.method} ${ctx.path}\n${rawBody}`);
  const slot = `idem:{${sha256(callerId)}}:${sha256(key)}`;
  const claimed = await redis.set(slot, JSON.stringify({ fingerprint }), 'PX', PENDING_MS, 'NX').catch(whenRedisUnavailable);
  if (!claimed) {
    const stored = JSON.parse((await redis.get(slot).catch(whenRedisUnavailable)) ?? '{}') as { fingerprint?: string; reply?: Reply };
    if (stored.fingerprint !== undefined && stored.fingerprint !== fingerprint) {
      throw new Problem('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request');
    }
    if (!stored.reply) throw new Problem('IDEMPOTENCY_IN_PROGRESS', 'The first request with this key is still running', {}, { 'Retry-After': '1' });
    ctx.set('Idempotent-Replayed', 'true');
    return send(ctx, stored.reply);
  }
  let reply: Reply;
  try {
    reply = await handle();
  } catch (error) {
    await redis.del(slot).catch(() => undefined);
    throw error;
  }
  await redis.set(slot, JSON.stringify({ fingerprint, reply }), 'PX', KEPT_MS).catch(() => undefined);
  send(ctx, reply);
}

function send(ctx: Context, reply: Reply): void {
  ctx.status = reply.status;
  if (reply.headers) ctx.set(reply.headers);
  ctx.body = reply.body;
}
