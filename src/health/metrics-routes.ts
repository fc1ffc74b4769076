import type { Route } from '../http/route.ts';
import { registry } from '../metrics/metrics.ts';

/** `GET /metrics`: Prometheus text of this process. Unauthenticated, like /readyz: keep it on an internal network. */
export const metricsRoute: Route = {
  method: 'get', path: '/metrics', auth: 'public', summary: 'Prometheus metrics of this process (see README "Metrics")', tag: 'operations',
  answer: { status: 200, schema: { type: 'string' }, type: 'text/plain', description: 'Prometheus text exposition format' },
  handler: async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  },
};
