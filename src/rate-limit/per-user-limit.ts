import type { Context, Next } from 'koa';
import { identityOf } from '../auth/authenticate.ts';
import { Problem } from '../http/problem.ts';

/**
 * A per-user fixed-window limit kept in this process's memory: the issue and use routes stay at one Redis
 * call per request. With N API processes a user can reach N times the limit, which still stops a client
 * that hammers the route; login, where the exact count matters, is limited in Redis instead.
 */
export function perUserLimit(route: string, limit: number, windowMs: number) {
  let windowStart = Date.now();
  let counts = new Map<string, number>();
  return async (ctx: Context, next: Next): Promise<void> => {
    const now = Date.now();
    if (now - windowStart >= windowMs) {
      windowStart = now - ((now - windowStart) % windowMs);
      counts = new Map();
    }
    const key = `${route}:${identityOf(ctx).userId}`;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    if (count > limit) {
      const retryAfter = String(Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)));
      throw new Problem('RATE_LIMITED', `At most ${limit} requests per ${windowMs / 1000} s on this route; retry in ${retryAfter} s`, {}, { 'Retry-After': retryAfter });
    }
    await next();
  };
}
