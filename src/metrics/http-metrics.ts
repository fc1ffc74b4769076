import type { Context, Next } from 'koa';
import { metrics } from './metrics.ts';

type Series = { requests: { inc(): void }; duration: { observe(seconds: number): void } };
/** Label sets are few (method × route template × status); looking a child up by labels costs more than the count. */
const series = new Map<string, Series>();
const SERIES_KEPT = 10_000;

function seriesOf(method: string, route: string, status: number): Series {
  const key = `${method} ${route} ${status}`;
  let found = series.get(key);
  if (!found) {
    found = { requests: metrics.httpRequests.labels(method, route, String(status)), duration: metrics.httpDuration.labels(method, route) };
    if (series.size < SERIES_KEPT) series.set(key, found);
  }
  return found;
}

/** Counts and times every answer by the route template it matched (never the raw path: ids would explode the series). */
export async function httpMetrics(ctx: Context, next: Next): Promise<void> {
  const started = performance.now();
  try {
    await next();
  } finally {
    const s = seriesOf(ctx.method, (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched', ctx.status);
    s.requests.inc();
    s.duration.observe((performance.now() - started) / 1000);
  }
}
