/**
 * `npm run bench`: brings up the stack; first what one API process does beside one bare Koa process (the
 * admitting issue route, the coupon read, the sold-out storm, and the admitting route open loop at half its
 * rate, see one-process.ts); then the full pipeline: N API processes, the relay, the projector and a bare Koa
 * baseline (N processes too, the same setup) as separate processes, loads the baseline, the issue route and
 * the coupon read with wrk, the same connections, duration and token-rotating client for each, in one run, measures admission → MySQL latency
 * while it runs, checks that Redis, Kafka and MySQL agree, then times the projector and a rebuild over
 * 1,000,000 events. Prints a table and one line of figures, and writes them to bench/RESULTS.md.
 */
import '../src/runtime/pinned-node.ts';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { loadConfig, type ResolvedConfig } from '../src/config/config.ts';
import { couponKeys } from '../src/coupons/admission/keys.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { recreateDatabase } from '../src/db/recreate-database.ts';
import { parseCouponEvent } from '../src/events/coupon-events.ts';
import { partitionFor } from '../src/kafka/kafka-client.ts';
import { eventLogTopics } from '../src/kafka/topics.ts';
import { createLogger } from '../src/log/logger.ts';
import { closeRuntime, openRuntime } from '../src/runtime/runtime.ts';
import { KAFKA_VERSION } from '../src/stack/prerequisites.ts';
import { ensureLocalStack } from '../src/stack/local-stack.ts';
import { spawnApp, spawnScript, type AppProcess } from '../test/support/app-process.ts';
import { createBenchCoupon, writeTokensFile } from './fixtures.ts';
import { ensureWrk, load, type LoadResult } from './wrk-load.ts';
import { benchProjections } from './projections.ts';
import { benchOneProcess } from './one-process.ts';
import { ensureVegeta } from './open-loop.ts';
import { flushEveryNode } from '../src/redis/redis-client.ts';
import { measureScriptCost, privateRedis } from './script-cost.ts';
import { soak } from './soak.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const ONE_CONNECTIONS = Number(process.env.BENCH_ONE_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PROCESSES = Number(process.env.BENCH_API_PROCESSES ?? 2);
const USERS = 100_000;
const QUANTITY = 50_000;
const API_PORT = 38_080;
const BASELINE_PORT = 38_081;
const say = (line: string) => process.stdout.write(`${line}\n`);
const answersOf = (r: LoadResult) =>
  `2xx ${r.answers.ok}, 409 ${r.answers.conflict}, other 4xx ${r.answers.client}, 5xx ${r.answers.server}, socket errors ${r.answers.errors}`;
const cpuOf = (r: LoadResult) => (r.cpuUsPerRequest === undefined ? '' : `${r.cpuUsPerRequest}`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

ensureWrk();
ensureVegeta();
const base = loadConfig();
const endpoints = await ensureLocalStack(base.stackDir, 'test', (l) => say(`stack: ${l}`));
const mysqlUrl = await recreateDatabase(endpoints.mysqlUrl, 'coupon_bench_api');
const env = {
  REDIS_URL: `${endpoints.redisUrl}/3`,
  MYSQL_URL: mysqlUrl,
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
  KAFKA_TOPIC: 'bench-api.coupon.events',
  JWT_SECRET: 'bench-secret-that-is-at-least-32-characters-long',
  LOG_LEVEL: 'warn',
};
const config = loadConfig({ ...process.env, ...env }) as ResolvedConfig;
const runtime = await openRuntime(config, createLogger('warn', 'bench'));
await flushEveryNode(runtime.redis);
await migrateToLatest(runtime.db);
await runtime.kafka.deleteTopics([config.kafka.topic]);
await runtime.kafka.ensureTopics(eventLogTopics(config));

say(`signing ${USERS.toLocaleString('en')} user tokens`);
const tokensFile = await writeTokensFile(config.jwt, USERS);
const oneEnv = { ...env, REDIS_URL: `${endpoints.redisUrl}/4`, KAFKA_TOPIC: 'bench-api-one.coupon.events' };
const oneRedis = new Redis(oneEnv.REDIS_URL);
await oneRedis.flushdb();
const one = await benchOneProcess({ env: oneEnv, config, tokensFile, connections: ONE_CONNECTIONS, seconds: SECONDS, say });
await oneRedis.flushdb();
await oneRedis.quit();
const cpuLine = `issue_cpu_us=${cpuOf(one.issue)} get_cpu_us=${cpuOf(one.read)} soldout_cpu_us=${cpuOf(one.soldOut)} bare_cpu_us=${cpuOf(one.bare)}`;
// BENCH_ONE_PROCESS_ONLY=true stops here: the quick loop while working on per-request costs.
if (process.env.BENCH_ONE_PROCESS_ONLY === 'true') {
  for (const r of [one.bare, one.issue, one.read, one.soldOut]) say(`${r.name}: ${r.rps} req/s (${(r.rps / one.bare.rps).toFixed(2)}), p99 ${r.p99} ms, CPU ${cpuOf(r)} µs per request, ${answersOf(r)}`);
  say(cpuLine);
  say(`open loop at ${one.halfLoad.rate} req/s: p50 ${one.halfLoad.p50} ms, p99 ${one.halfLoad.p99} ms, statuses ${JSON.stringify(one.halfLoad.statuses)}`);
  await closeRuntime(runtime);
  process.exit(0);
}

// BENCH_PROFILE=dir writes a CPU profile of each API process there (open it in Chrome DevTools).
const profile = process.env.BENCH_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}` } : {};
const children: AppProcess[] = [];
const spawnMany = async (count: number, start: () => Promise<AppProcess>) => {
  for (let i = 0; i < count; i++) children.push(await start());
};
await spawnMany(PROCESSES, () => spawnApp({ ...env, ...profile, ROLES: 'api', PORT: String(API_PORT), HTTP_REUSE_PORT: 'true' }));
await spawnMany(1, () => spawnApp({ ...env, ROLES: 'relay' }));
await spawnMany(1, () => spawnApp({ ...env, ROLES: 'projector' }));
await spawnMany(PROCESSES, () => spawnScript(new URL('./baseline-server.ts', import.meta.url), { PORT: String(BASELINE_PORT), HTTP_REUSE_PORT: 'true' }));
const api = `http://127.0.0.1:${API_PORT}`;

try {
  const couponId = await createBenchCoupon(api, config.jwt, QUANTITY);

  // Admission → MySQL: new issued_coupon rows are seen within one poll of being committed.
  const latencies: number[] = [];
  let polling = true;
  let seenUpTo = '';
  const poller = (async () => {
    while (polling) {
      const rows = await runtime.db.selectFrom('issued_coupon').select(['id', 'issued_at']).where('coupon_id', '=', couponId)
        .where('id', '>', seenUpTo).orderBy('id').limit(20_000).execute();
      const seenAt = Date.now();
      for (const r of rows) latencies.push(seenAt - r.issued_at.getTime());
      if (rows.length > 0) seenUpTo = rows[rows.length - 1]!.id;
      else await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const results: LoadResult[] = [];
  const common = { connections: CONNECTIONS, seconds: SECONDS, tokensFile };
  say(`loading: ${CONNECTIONS} connections, ${SECONDS} s per run, ${PROCESSES} API processes`);
  results.push(await load('baseline: bare Koa JSON', `http://127.0.0.1:${BASELINE_PORT}/coupons/${couponId}/issue`, { ...common, method: 'POST' }));
  results.push(await load('POST /coupons/{id}/issue', `${api}/coupons/${couponId}/issue`, { ...common, method: 'POST' }));
  results.push(await load('GET /coupons/{id}', `${api}/coupons/${couponId}`, { ...common, method: 'GET' }));
  const [bare, issue, read] = results as [LoadResult, LoadResult, LoadResult];

  // Wait for the pipeline to settle, then compare what every store says.
  const admitted = issue.answers.ok;
  const deadline = Date.now() + 120_000;
  while (latencies.length < admitted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  polling = false;
  await poller;
  const redisIssued = Number(await runtime.redis.hget(couponKeys(couponId, config.admission.shards).coupon, 'iss'));
  const logIssued = new Set<string>();
  const messages = await runtime.kafka.readToEnd(config.kafka.topic, partitionFor(couponId, config.kafka.partitions), 0n);
  for (const m of messages) {
    const event = parseCouponEvent(JSON.parse(m.value!));
    if (event.type === 'CouponIssued' && event.couponId === couponId) logIssued.add(event.data.issuedCouponId);
  }
  const mysqlRows = Number((await runtime.db.selectFrom('issued_coupon').select((eb) => eb.fn.countAll<number>().as('n')).where('coupon_id', '=', couponId).executeTakeFirstOrThrow()).n);
  const overissued = Math.max(0, Math.max(redisIssued, logIssued.size, mysqlRows) - QUANTITY);
  const lost = Math.max(0, admitted - mysqlRows) + Math.max(0, redisIssued - logIssued.size);
  latencies.sort((a, b) => a - b);
  const e2e = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };

  // The projection figures are measured alone, as the target is stated: nothing else loads the machine.
  for (const child of children.splice(0)) {
    child.child.kill('SIGTERM');
    await child.exited;
  }
  const projections = await benchProjections();
  // The issue script's Redis CPU, on a server of its own so nothing else is in its command stats.
  const scriptServer = await privateRedis();
  const script = await measureScriptCost(scriptServer.url).finally(() => scriptServer.stop());
  const soaked = await soak({ env, config, db: runtime.db, seconds: Number(process.env.BENCH_SOAK_SECONDS ?? 600), rate: Number(process.env.BENCH_SOAK_RATE ?? 1_000), say });

  const versions = {
    cpu: `${cpus().length} × ${cpus()[0]?.model}`,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(await runtime.redis.info('server'))?.[1] ?? '?',
    mysql: (await sql<{ v: string }>`SELECT VERSION() AS v`.execute(runtime.db)).rows[0]!.v,
    kafka: KAFKA_VERSION,
  };
  const ratio = (r: LoadResult, of: LoadResult) => (r.rps / of.rps).toFixed(2);
  const table = [
    '| run | req/s | ratio to bare | CPU µs per request | p50 ms | p99 ms | answers |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...[one.bare, one.issue, one.read, one.soldOut].map((r) => `| ${r.name} | ${r.rps} | ${ratio(r, one.bare)} | ${cpuOf(r)} | ${r.p50} | ${r.p99} | ${answersOf(r)} |`),
    ...results.map((r) => `| ${PROCESSES} processes + relay + projector: ${r.name} | ${r.rps} | ${ratio(r, bare)} | | ${r.p50} | ${r.p99} | ${answersOf(r)} |`),
  ];
  const half = one.halfLoad;
  const openLoopLine = `Open loop, 1 process, admitting issue route at ${half.rate} req/s (half of ${one.issue.rps}) for ${SECONDS} s: ` +
    `${half.requests} requests, p50 ${half.p50} ms, p99 ${half.p99} ms, max ${half.max} ms, statuses ${JSON.stringify(half.statuses)}`;
  const agreement = `admitted (201) ${admitted}, Redis issued ${redisIssued}, CouponIssued in Kafka ${logIssued.size}, MySQL rows ${mysqlRows}, quantity ${QUANTITY}`;
  const line = `issue_rps=${issue.rps} baseline_rps=${bare.rps} ratio=${ratio(issue, bare)} issue_p99_ms=${issue.p99} ` +
    `e2e_p99_ms=${e2e.p99} projector_eps=${projections.projectorEps} rebuild_eps=${projections.rebuildEps} overissued=${overissued} lost=${lost} ` +
    `issue_ratio_1p=${ratio(one.issue, one.bare)} get_ratio_1p=${ratio(one.read, one.bare)} soldout_ratio_1p=${ratio(one.soldOut, one.bare)} ` +
    `pipeline_ratio=${ratio(issue, bare)} p99_at_half_load_ms=${half.p99} ${cpuLine} ` +
    `issue_script_usec=${script.issueUsec.toFixed(1)} hincrby_usec=${script.hincrbyUsec.toFixed(2)} soak_rss_mib=${soaked.finalRssMiB}`;
  say('');
  for (const row of table) say(row);
  say(`\n${openLoopLine}.`);
  say(`GET /coupons/{id}: ${read.rps} req/s. Admission → MySQL row: p50 ${e2e.p50} ms, p99 ${e2e.p99} ms over ${latencies.length} rows.`);
  say(`Agreement: ${agreement}.`);
  say(`Projections over ${projections.events.toLocaleString('en')} events: projector ${projections.projectorEps} ev/s, rebuild ${projections.rebuildEps} ev/s.`);
  say(line);
  writeFileSync(new URL('./RESULTS.md', import.meta.url), [
    '# Benchmark results', '',
    `Run ${new Date().toISOString()} by \`npm run bench\` on ${versions.cpu}; Node ${versions.node}, Redis ${versions.redis}, MariaDB ${versions.mysql}, Kafka ${versions.kafka}.`,
    `One process: wrk 2 threads, ${ONE_CONNECTIONS} connections, a new user's token on every request; pipeline: ${CONNECTIONS} connections, ${SECONDS} s per run, ${PROCESSES} API processes (and ${PROCESSES} baseline processes), relay and projector; client on the same machine.`, '',
    ...table, '',
    `- ${openLoopLine}`,
    `- GET /coupons/{id}: ${read.rps} req/s`,
    `- Admission → MySQL row: p50 ${e2e.p50} ms, p99 ${e2e.p99} ms (${latencies.length} rows)`,
    `- Agreement: ${agreement}`,
    `- Projections over ${projections.events.toLocaleString('en')} events: projector ${projections.projectorEps} ev/s, rebuild ${projections.rebuildEps} ev/s`,
    `- Soak, one all-roles process: RSS ${soaked.afterStorms.rssMiB} MiB after two 20 s admission storms and two sold-out storms of 20,000 users; ` +
      `then ${soaked.samples.length * 10} s of mixed load at ${process.env.BENCH_SOAK_RATE ?? 1_000} req/s: ${soaked.samples.map((x) => x.rssMiB).join(', ')} MiB every 10 s ` +
      `(last half ${(soaked.lastHalfGrowth * 100).toFixed(1)} %), answers ${JSON.stringify(soaked.statuses)}`,
    `- Admitting issue script: ${script.issueUsec.toFixed(1)} µs of Redis per call (usec_per_call), HINCRBY ${script.hincrbyUsec.toFixed(2)} µs, on one redis-server`, '',
    '```', line, '```', '',
  ].join('\n'));
} finally {
  for (const child of children) child.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await runtime.kafka.deleteTopics([config.kafka.topic]).catch(() => undefined);
  await closeRuntime(runtime);
}
