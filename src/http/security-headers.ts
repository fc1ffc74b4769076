import type { Context, Next } from 'koa';

const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
/** The docs page runs its own inline script and style and fetches /openapi.json; nothing else. */
const DOCS_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
/** The live dashboard: its own inline script and style, the chart library it is served, and its event stream. */
const DASHBOARD_POLICY = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
/** A waiting room's page (/queue/{code}): its own inline script and style, and the API it calls; nothing else. */
const QUEUE_PAGE_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
const ALLOWED_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Request-Id, Human-Check, Queue-Pass';

/**
 * Headers every answer carries, errors included, and CORS for the configured origins only (none by
 * default: the API is then same-origin). Preflight requests are answered here, before any route.
 */
export function securityHeaders(corsOrigins: readonly string[]) {
  const allowed = new Set(corsOrigins);
  return async (ctx: Context, next: Next): Promise<void> => {
    ctx.set({
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': ctx.path === '/docs' ? DOCS_POLICY : ctx.path === '/admin/dashboard' ? DASHBOARD_POLICY : ctx.path.startsWith('/queue/') ? QUEUE_PAGE_POLICY : API_POLICY,
    });
    const origin = ctx.get('origin');
    if (origin && allowed.has(origin)) {
      ctx.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'X-Request-Id, Retry-After, Location, Idempotent-Replayed' });
      ctx.vary('Origin');
      if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method')) {
        ctx.set({ 'Access-Control-Allow-Methods': 'GET, POST, PATCH', 'Access-Control-Allow-Headers': ALLOWED_HEADERS, 'Access-Control-Max-Age': '600' });
        ctx.status = 204;
        return;
      }
    }
    await next();
  };
}
