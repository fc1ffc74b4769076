import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { eventLogTopics } from '../../src/kafka/topics.ts';
import { startApi } from '../../src/roles/api-role.ts';
import { closeRuntime } from '../../src/runtime/runtime.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { canStopServices, startService, stopService } from '../support/stack-control.ts';
import { openTestRuntime } from '../support/test-runtime.ts';
import type { ServiceName } from '../../src/stack/local-stack.ts';

const runtime = await openTestRuntime({ PORT: '0' });
await migrateToLatest(runtime.db);
await runtime.kafka.ensureTopics(eventLogTopics(runtime.config));
const api = await startApi(runtime);

const health = suite('health and readiness');
health.after(async () => {
  await api.stop();
  await closeRuntime(runtime);
});

async function readyz(): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/readyz`);
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

health('/healthz answers 200 while the process is up', async () => {
  const res = await fetch(`${api.url}/healthz`);
  assert.is(res.status, 200);
  assert.equal(await res.json(), { status: 'ok' });
});

health('/readyz answers 200 when redis, mysql and kafka all answer', async () => {
  const r = await readyz();
  assert.is(r.status, 200);
  assert.equal(r.body.checks, { redis: { up: true }, mysql: { up: true }, kafka: { up: true } });
});

health('an unknown route answers 404 problem+json with the request id', async () => {
  const res = await fetch(`${api.url}/no/such/route`, { headers: { 'x-request-id': 'req-123' } });
  assert.is(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.is(res.headers.get('x-request-id'), 'req-123');
  const body = (await res.json()) as Record<string, unknown>;
  assert.is(body.code, 'NOT_FOUND');
  assert.is(body.status, 404);
  assert.ok(body.type && body.title && body.detail);
});

for (const name of ['kafka', 'redis', 'mysql'] as ServiceName[]) {
  health(`with ${name} stopped /readyz answers 503 naming ${name}; once it is back, 200 again`, async () => {
    if (!canStopServices) return console.log(`  (skipped: the ${name} server is not the test stack's to stop)`);
    await stopService(name);
    try {
      const down = await readyz();
      assert.is(down.status, 503);
      assert.match(down.type ?? '', /^application\/problem\+json/);
      assert.is(down.body.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(down.body.down, [name]);
      assert.match(String(down.body.detail), name);
    } finally {
      await startService(name);
    }
    const back = await eventually(readyz, (r) => r.status === 200, 60_000, 250);
    assert.is(back.status, 200, `${name} came back but /readyz still answers ${back.status}: ${JSON.stringify(back.body)}`);
  });
}

health('the process prints its URL, serves, and on SIGTERM drains and exits 0', async () => {
  const app = await spawnApp({ LOG_LEVEL: 'info' });
  assert.match(app.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.is((await fetch(`${app.url}/readyz`)).status, 200);
  app.child.kill('SIGTERM');
  const { code } = await app.exited;
  assert.is(code, 0);
  assert.match(app.output(), /"msg":"stopped"/);
});

health.run();
