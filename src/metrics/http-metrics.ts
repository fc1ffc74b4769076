import type { Context, Next } from 'koa';
import { metrics } from './metrics.ts';

/** Counts and times every answer by the route template it matched (never the raw path: ids would explode the series). */
export async function httpMetrics(ctx: Context, next: Next): Promise<void> {
  const started = performance.now();
  try {
    await next();
  } finally {
    const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    metrics.httpRequests.inc({ method: ctx.method, route, status: ctx.status });
    metrics.httpDuration.observe({ method: ctx.method, route }, (performance.now() - started) / 1000);
  }
}
