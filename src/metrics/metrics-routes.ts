import Router from '@koa/router';
import { registry } from './metrics.ts';

/** `GET /metrics`: Prometheus text of this process. Unauthenticated, like /readyz: keep it on an internal network. */
export function metricsRoutes(): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
