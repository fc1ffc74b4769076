import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../http/create-app.ts';
import { routerOf, type Route } from '../http/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { healthRoutes } from './health-routes.ts';

export interface OpsServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * What a process without the api role serves for its operators, on METRICS_PORT: /healthz, /readyz (its
 * dependencies and its worker loops) and whatever else it is given.
 */
export async function startOpsServer(runtime: Runtime, port: number, extra: Route[] = []): Promise<OpsServer> {
  const server = createServer(createApp(runtime.logger, [routerOf([...healthRoutes(runtime), ...extra])]).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: runtime.config.http.host }, resolve);
  });
  const host = runtime.config.http.host === '0.0.0.0' ? '127.0.0.1' : runtime.config.http.host;
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
