import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../log/logger.ts';
import { httpMetrics } from '../metrics/http-metrics.ts';
import { errorHandler } from './error-handler.ts';
import { requestContext } from './request-context.ts';
import { securityHeaders } from './security-headers.ts';
import { DEFAULT_BODY_TIMEOUT_MS } from './request-body.ts';

export function createApp(logger: Logger, routers: Router[], corsOrigins: readonly string[] = [], bodyTimeoutMs = DEFAULT_BODY_TIMEOUT_MS, trustProxy = false): Koa {
  // Only behind a load balancer that sets X-Forwarded-For: otherwise a client could name any address it likes.
  const app = new Koa({ proxy: trustProxy });
  app.silent = true;
  Object.assign(app.context, { bodyTimeoutMs });
  app.use(requestContext(logger));
  app.use(httpMetrics);
  app.use(securityHeaders(corsOrigins));
  app.use(errorHandler);
  for (const router of routers) {
    app.use(router.routes());
    // Not in throw mode: only then does the router set the Allow header the 405 must carry.
    app.use(router.allowedMethods());
  }
  return app;
}
