import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';

/** The ceiling to compare against: Koa and the router answering JSON, with no auth, validation or Redis. */
const app = new Koa();
const router = new Router();
router.post('/coupons/:couponId/issue', (ctx) => {
  ctx.status = 201;
  ctx.body = { couponId: ctx.params.couponId, issued: true };
});
app.use(router.routes());
const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
// The same process setup as the API: PORT and HTTP_REUSE_PORT, so N copies can share one port.
server.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', reusePort: process.env.HTTP_REUSE_PORT === 'true' }, () => {
  process.stdout.write(`Baseline running roles [bare] at http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
