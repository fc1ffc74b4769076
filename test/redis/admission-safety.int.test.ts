import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { waitFor, isPortOpen } from '../../src/stack/process-control.ts';
import { runAppToExit, spawnApp } from '../support/app-process.ts';
import { freePort } from '../support/free-port.ts';
import { spec } from '../support/spec.ts';

/** A Redis server of this file's own, configured the way an operator might get it wrong. */
interface OwnRedis {
  url: string;
  client: Redis;
  close(): Promise<void>;
}


async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'coupon-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
  await waitFor('own redis', () => isPortOpen(port), 15_000);
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  return {
    url: `redis://127.0.0.1:${port}`, client,
    async close() {
      client.disconnect();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const safety = spec('admission state is never on a Redis that may evict it', ownRedis);

safety('given a Redis with maxmemory-policy allkeys-lru, when the API starts, then it refuses with a message naming the policy; with noeviction the same start succeeds', async (redis) => {
  const env = { ROLES: 'api', PORT: '0', REDIS_URL: redis.url, REDIS_CLUSTER_NODES: undefined, STACK_TOPOLOGY: 'single', LOG_LEVEL: 'info' };
  const refused = await runAppToExit(env, 30_000);
  assert.ok(refused.code !== 0, `the API must not start on an evicting Redis; it exited ${refused.code}:\n${refused.output}`);
  assert.ok(/maxmemory-policy allkeys-lru.*noeviction/.test(refused.output), `the refusal names the policy and the fix:\n${refused.output}`);
  assert.is(await redis.client.dbsize(), 0, 'nothing was written before the refusal');

  await redis.client.config('SET', 'maxmemory-policy', 'noeviction');
  const app = await spawnApp(env);
  try {
    const ready = await fetch(`${app.url}/readyz`);
    assert.is(ready.status, 200, await ready.text());
  } finally {
    await app.stop();
  }
});

safety.run();
