/**
 * `npm run bench`: brings up the stack, runs the API, the relay and a bare Koa baseline as separate
 * processes, and loads each with the same connections and duration in one run, so the figures compare.
 */
import { cpus } from 'node:os';
import { signAccessToken } from '../src/auth/token-signer.ts';
import { loadConfig } from '../src/config/config.ts';
import { ensureLocalStack } from '../src/stack/local-stack.ts';
import { spawnApp, spawnScript } from '../test/support/app-process.ts';
import { load, type LoadResult } from './load.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const USERS = 100_000;
const QUANTITY = 50_000;
const say = (line: string) => process.stdout.write(`${line}\n`);

const base = loadConfig();
const endpoints = await ensureLocalStack(base.stackDir, 'test', (l) => say(`stack: ${l}`));
const env = {
  REDIS_URL: endpoints.redisUrl,
  MYSQL_URL: endpoints.mysqlUrl,
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
  JWT_SECRET: process.env.JWT_SECRET ?? 'bench-secret-that-is-at-least-32-characters-long',
  LOG_LEVEL: 'warn',
};
const config = loadConfig({ ...process.env, ...env });

// BENCH_PROFILE=dir writes a CPU profile of the API process there (open it in Chrome DevTools).
const profile = process.env.BENCH_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}` } : {};
const api = await spawnApp({ ...env, ...profile, ROLES: 'api' });
const relay = await spawnApp({ ...env, ROLES: 'relay' });
const baseline = await spawnScript(new URL('./baseline-server.ts', import.meta.url), {});

try {
  const admin = await signAccessToken(config.jwt, { userId: 'bench-admin', role: 'admin' });
  const now = Date.now();
  const created = await fetch(`${api.url}/admin/coupons`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Bench', totalQuantity: QUANTITY, discount: { type: 'PERCENT', value: 10 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
    }),
  });
  const couponId = ((await created.json()) as { id: string }).id;
  say(`signing ${USERS} user tokens`);
  const tokens: string[] = [];
  for (let u = 0; u < USERS; u++) tokens.push(await signAccessToken(config.jwt, { userId: `bench-user-${u}`, role: 'user' }));
  const asUser = (i: number) => ({ authorization: `Bearer ${tokens[i % USERS]}` });

  const results: LoadResult[] = [];
  const common = { connections: CONNECTIONS, seconds: SECONDS };
  results.push(await load('baseline: bare Koa JSON', `${baseline.url}/coupons/${couponId}/issue`, { ...common, method: 'POST' }));
  results.push(await load('POST /coupons/{id}/issue', `${api.url}/coupons/${couponId}/issue`, { ...common, method: 'POST', headersFor: asUser }));
  results.push(await load('GET /coupons/{id}', `${api.url}/coupons/${couponId}`, { ...common, method: 'GET', headersFor: asUser }));

  say(`\n${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, ${CONNECTIONS} connections, ${SECONDS} s each`);
  say('| run | req/s | p50 ms | p99 ms | answers |');
  say('|---|---:|---:|---:|---|');
  for (const r of results) say(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${JSON.stringify(r.statuses)}${r.errors ? ` errors=${r.errors}` : ''} |`);
  const [bare, issue] = results as [LoadResult, LoadResult];
  say(`\nissue_rps=${issue.rps} baseline_rps=${bare.rps} ratio=${(issue.rps / bare.rps).toFixed(2)} issue_p99_ms=${issue.p99}`);
} finally {
  for (const p of [api, relay, baseline]) p.child.kill('SIGTERM');
  await Promise.all([api.exited, relay.exited, baseline.exited]);
}
