import { createServer } from 'node:http';
import type Router from '@koa/router';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from '../auth/token-verifier.ts';
import { AdmissionStore } from '../coupons/admission/admission-store.ts';
import { couponRoutes } from '../coupons/coupon-routes.ts';
import { createApp } from '../http/create-app.ts';
import { healthRoutes } from '../health/health-routes.ts';
import { openApiRoutes } from '../openapi/openapi-routes.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { RunningRole } from './role.ts';

export interface RunningApi extends RunningRole {
  url: string;
}

/** Every route the API serves; the OpenAPI document is checked against this list. */
export function apiRouters(runtime: Runtime): Router[] {
  const { config, redis } = runtime;
  const deps = { admission: new AdmissionStore(redis, config.admission.shards), redis, verify: createTokenVerifier(config.jwt) };
  return [healthRoutes(runtime), couponRoutes(deps), openApiRoutes()];
}

export async function startApi(runtime: Runtime): Promise<RunningApi> {
  const app = createApp(runtime.logger, apiRouters(runtime));
  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(runtime.config.http.port, runtime.config.http.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = runtime.config.http.host === '0.0.0.0' ? '127.0.0.1' : runtime.config.http.host;
  return {
    name: 'api',
    url: `http://${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        // close() stops accepting and waits for in-flight requests; idle keep-alive sockets are closed at once.
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
