import type { AddressInfo } from 'node:net';
import * as assert from 'uvu/assert';
import { createApp } from '../../src/http/create-app.ts';
import type { AuthLevel } from '../../src/http/route.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openApiPath } from '../../src/openapi/openapi-document.ts';
import { servedRoutes, withApiRouter, type ServedRoute } from '../support/served-routes.ts';
import { spec } from '../support/spec.ts';

type Operation = { security?: { bearer: string[] }[] };

/** What the document says a route needs: no security, any bearer token, or a bearer token with the admin role. */
const documentedAuth = (operation: Operation): AuthLevel =>
  !operation.security ? 'public' : operation.security[0]!.bearer.includes('admin') ? 'admin' : 'token';

/** The document as the real app serves it, from the same router the served routes are read from. */
const servedDocument = () => withApiRouter(async (_, router) => {
  const server = createApp(createLogger('silent'), [router]).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
    return (await answer.json()) as { paths: Record<string, Record<string, Operation>> };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

const key = (route: { method: string; path: string }) => `${route.method.toUpperCase()} ${openApiPath(route.path)}`;

let served: ServedRoute[] = [];
let documented = new Map<string, AuthLevel>();
const routes = spec('the routes the router serves and the OpenAPI document are one list', async () => {
  served = await servedRoutes();
  const { paths } = await servedDocument();
  documented = new Map(Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => [key({ method, path }), documentedAuth(operation)] as const)));
});

routes('the router serves routes of every auth level', () => {
  const levels = new Set(served.map((route) => route.auth));
  assert.equal([...levels].sort(), ['admin', 'public', 'token']);
});

routes('every route the router serves is documented, with the auth its middleware asks for', () => {
  const wrong = served.filter((route) => documented.get(key(route)) !== route.auth)
    .map((route) => `${key(route)}: served ${route.auth}, documented ${documented.get(key(route)) ?? 'not at all'}`);
  assert.equal(wrong, []);
});

routes('every documented operation is served', () => {
  const servedKeys = new Set(served.map(key));
  assert.equal([...documented.keys()].filter((operation) => !servedKeys.has(operation)), []);
});

routes.run();
