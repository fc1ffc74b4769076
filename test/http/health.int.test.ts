import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const health = spec('health and readiness', async () => (harness = await Harness.start()));

health('/healthz answers 200 while the process is up', async () => {
  const answer = await harness.request('GET', '/healthz');
  assert.is(answer.status, 200);
  assert.equal(answer.body, { status: 'ok' });
});

health('/readyz answers 200 when redis, mysql and kafka all answer', async () => {
  const answer = await harness.request('GET', '/readyz');
  assert.is(answer.status, 200);
  assert.equal(answer.body.checks, { redis: { up: true }, mysql: { up: true }, kafka: { up: true } });
});

health('an unknown route answers 404 problem+json with the request id', async () => {
  const answer = await harness.request('GET', '/no/such/route', { headers: { 'x-request-id': 'req-123' } });
  assert.is(answer.status, 404);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  assert.is(answer.headers['x-request-id'], 'req-123');
  assert.is(answer.body.code, 'NOT_FOUND');
  assert.is(answer.body.status, 404);
  assert.ok(answer.body.type && answer.body.title && answer.body.detail);
});

health('the process prints its URL, serves, and on SIGTERM drains and exits 0', async () => {
  const app = await spawnApp({ LOG_LEVEL: 'info' });
  assert.match(app.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.is((await fetch(`${app.url}/readyz`)).status, 200);
  app.child.kill('SIGTERM');
  const { code } = await app.exitedWithin(30_000, 'SIGTERM drains and exits');
  assert.is(code, 0);
  assert.match(app.output(), /"msg":"stopped"/);
});

health.run();
