import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import type { Route } from '../http/route.ts';
import { DashboardTicker, type DashboardDeps } from './dashboard-snapshot.ts';

const require = createRequire(import.meta.url);
const PAGE = readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8');
// The chart library is served from the installed package: the page needs no CDN and no network.
const UPLOT_JS = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
const UPLOT_CSS = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');

const TICK_MS = 1_000;

/**
 * Every open dashboard of this process, fed by one ticker: the snapshot is read once a second however many
 * dashboards watch (and not at all when none does), and a shutting-down API can end the streams instead of
 * waiting for browsers to hang up.
 */
export class DashboardStreams {
  private readonly open = new Set<PassThrough>();
  private ticker?: DashboardTicker;
  private timer?: NodeJS.Timeout;
  private last?: string;
  private busy = false;

  feed(ticker: DashboardTicker): void {
    this.ticker = ticker;
  }

  add(stream: PassThrough): void {
    this.open.add(stream);
    stream.once('close', () => {
      this.open.delete(stream);
      if (this.open.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.last = undefined;
      }
    });
    stream.write(`retry: ${TICK_MS}\n\n`);
    if (this.last) stream.write(this.last);
    else void this.tick();
    this.timer ??= setInterval(() => void this.tick(), TICK_MS);
  }

  closeAll(): void {
    for (const stream of this.open) stream.end();
  }

  private async tick(): Promise<void> {
    if (this.busy || !this.ticker) return;
    this.busy = true;
    let message: string;
    try {
      message = `data: ${JSON.stringify(await this.ticker.tick())}\n\n`;
    } catch (error) {
      message = `event: unavailable\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`;
    } finally {
      this.busy = false;
    }
    if (this.open.size === 0) return;
    this.last = message;
    for (const stream of this.open) stream.write(message);
  }
}

/**
 * `/admin/dashboard`: one self-contained page (the page and its chart library are static; nothing secret is in
 * them). Its data comes from `/admin/dashboard/events`, Server-Sent Events for admins only, read by the page
 * with `fetch` so the token travels in the Authorization header rather than in a URL; the page reconnects
 * when the stream ends (an API restart) and shows how long it has been away.
 */
export function dashboardRoutes(deps: DashboardDeps & { streams: DashboardStreams }): Route[] {
  deps.streams.feed(new DashboardTicker(deps));
  return [
    staticRoute('/admin/dashboard', 'The live dashboard: a page that signs in with an admin token and shows /admin/dashboard/events as it happens',
      { type: 'text/html', description: 'HTML (no data in it)' }, 'text/html; charset=utf-8', PAGE),
    staticRoute('/assets/uplot.js', 'The chart library the dashboard uses (uPlot, from npm)', { type: 'text/javascript', description: 'JavaScript' },
      'text/javascript; charset=utf-8', UPLOT_JS, true),
    staticRoute('/assets/uplot.css', 'Its style sheet', { type: 'text/css', description: 'CSS' }, 'text/css; charset=utf-8', UPLOT_CSS, true),
    {
      method: 'get', path: '/admin/dashboard/events', auth: 'admin', tag: 'admin',
      summary: 'Server-Sent Events, one snapshot a second: per coupon issued, remaining and issued per second; issue outcomes and p99 of this API process; outbox depth; projection lag',
      answer: { status: 200, schema: { type: 'string' }, also: { 'text/event-stream': { type: 'string' } } },
      handler: (ctx) => {
        const stream = new PassThrough();
        ctx.req.once('close', () => stream.end());
        ctx.type = 'text/event-stream';
        ctx.set('Cache-Control', 'no-store');
        ctx.set('X-Accel-Buffering', 'no');
        ctx.body = stream;
        deps.streams.add(stream);
      },
    },
  ];
}

/** A page or asset: static, nothing secret in it, so public; assets may be cached for a day. */
function staticRoute(path: string, summary: string, media: { type: string; description: string }, type: string, body: string, cached = false): Route {
  return {
    method: 'get', path, auth: 'public', summary, tag: 'operations',
    answer: { status: 200, schema: { type: 'string' }, ...media },
    handler: (ctx) => {
      ctx.type = type;
      if (cached) ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = body;
    },
  };
}
