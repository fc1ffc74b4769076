/**
 * `npm run bench:cluster`: figures for the capacity plan, measured on the cluster topology (3 Kafka brokers,
 * Redis Cluster of 3 masters + 3 replicas) in one run, each beside a baseline of the same run:
 * - the issue route of one API process (plus a relay) with ADMISSION_REPLICAS=0 and =1, beside a bare Koa
 *   process, under the same wrk client (a new user's token on every request);
 * - what one admission costs a Redis master: redis-benchmark (C, pipelined) sends the issue script straight
 *   to the master of the coupon's slot, beside HINCRBY on the same node;
 * - what the brokers take: relay-shaped batches (1,000 events of ~350 bytes) produced with acks=all and
 *   idempotence to the replicated topic (RF 3, min ISR 2), beside an unreplicated topic on the same brokers.
 * - one hot coupon: an admission storm on a coupon split into as many stock buckets as there are masters, the
 *   issue-script calls each master ran (INFO commandstats, reset before) and what each bucket issued, beside the
 *   same storm on a coupon in one bucket; and the bucket script's cost on one master (redis-benchmark).
 * Prints a table and one line of figures and writes them to bench/CLUSTER-RESULTS.md.
 */
import '../src/runtime/pinned-node.ts';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadConfig, type ResolvedConfig } from '../src/config/config.ts';
import { couponKeys, keysOfBucket } from '../src/coupons/admission/keys.ts';
import { StockBuckets } from '../src/coupons/admission/stock-buckets.ts';
import { ScriptRunner } from '../src/coupons/admission/script-runner.ts';
import { SCRIPTS } from '../src/coupons/admission/script-runner.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { recreateDatabase } from '../src/db/recreate-database.ts';
import { eventLogTopics } from '../src/kafka/topics.ts';
import { createLogger } from '../src/log/logger.ts';
import { flushEveryNode, masterNodes } from '../src/redis/redis-client.ts';
import { closeRuntime, openRuntime } from '../src/runtime/runtime.ts';
import { ensureLocalStack } from '../src/stack/local-stack.ts';
import { spawnApp, spawnScript, type AppProcess } from '../test/support/app-process.ts';
import { servedBy } from '../test/support/cluster-topology.ts';
import { createBenchCoupon, writeTokensFile } from './fixtures.ts';
import { hotCouponRuns, type HotRun } from './hot-coupon.ts';
import { ensureWrk, load, type LoadResult } from './wrk-load.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const API_PORT = 38_180;
const BASELINE_PORT = 38_181;
const say = (line: string) => process.stdout.write(`${line}\n`);

process.env.STACK_TOPOLOGY = 'cluster';
ensureWrk();
const base = loadConfig();
const endpoints = await ensureLocalStack(base.stackDir, 'test', (l) => say(`stack: ${l}`), undefined, 'cluster');
const env = {
  REDIS_CLUSTER_NODES: endpoints.redisClusterNodes!.join(','),
  MYSQL_URL: await recreateDatabase(endpoints.mysqlUrl, 'coupon_bench_cluster'),
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
  KAFKA_TOPIC: 'bench-cluster.coupon.events',
  JWT_SECRET: 'bench-secret-that-is-at-least-32-characters-long',
  LOG_LEVEL: 'warn',
  USER_LIMIT: '1000',
  // The storms run without a relay: the outbox holds what they admit instead of refusing past the default bound.
  OUTBOX_MAX_ENTRIES: '10000000',
};
const config = loadConfig({ ...process.env, ...env }) as ResolvedConfig;
const runtime = await openRuntime(config, createLogger('warn', 'bench'));
await flushEveryNode(runtime.redis);
await migrateToLatest(runtime.db);
const unreplicated = { ...eventLogTopics(config)[0]!, topic: 'bench-cluster.unreplicated', replicationFactor: 1, minInSyncReplicas: 1 };
await runtime.kafka.deleteTopics([config.kafka.topic, unreplicated.topic]);
await runtime.kafka.ensureTopics([...eventLogTopics(config), unreplicated]);

const children: AppProcess[] = [];
const stopChild = async (child: AppProcess) => {
  children.splice(children.indexOf(child), 1);
  await child.stop();
};

/** The issue route of one API process at saturation, with the given replica setting. */
async function issueRun(replicas: 0 | 1, tokensFile: string): Promise<LoadResult> {
  const api = await spawnApp({ ...env, ROLES: 'api', PORT: String(API_PORT), ADMISSION_REPLICAS: String(replicas) }, 120_000);
  children.push(api);
  try {
    const couponId = await createBenchCoupon(api.url, config.jwt, 10_000_000, `Cluster bench, replicas ${replicas}`);
    return await load(`POST /coupons/{id}/issue, ADMISSION_REPLICAS=${replicas}`, `${api.url}/coupons/${couponId}/issue`,
      { method: 'POST', connections: CONNECTIONS, seconds: SECONDS, tokensFile });
  } finally {
    await stopChild(api);
  }
}

/** redis-benchmark against one node: requests per second, pipelined 16 deep over 50 connections. */
function redisBenchmark(port: number, command: string[]): number {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-n', '300000', '-c', '50', '-P', '16', '-r', '100000000', '--csv', ...command],
    { encoding: 'utf8' });
  const row = out.trim().split('\n').pop()!.split(',').map((c) => c.replace(/"/g, ''));
  return Math.round(Number(row[1]));
}

/** The issue script straight to the master of a coupon's slot, every call another user (a random id). */
async function masterCapacity(): Promise<{ node: string; lua: number; hincrby: number }> {
  const api = await spawnApp({ ...env, ROLES: 'api', PORT: String(API_PORT) }, 120_000);
  children.push(api);
  const couponId = await createBenchCoupon(api.url, config.jwt, 10_000_000, 'Master capacity');
  await stopChild(api);
  const k = couponKeys(couponId, config.admission.shards);
  const { master } = await servedBy(runtime.redis, Number(await runtime.redis.cluster('KEYSLOT', k.coupon)));
  const port = Number(master.split(':')[1]);
  const sha = execFileSync('redis-cli', ['-p', String(port), 'SCRIPT', 'LOAD', SCRIPTS.couponIssue.lua], { encoding: 'utf8' }).trim();
  const lua = redisBenchmark(port, ['EVALSHA', sha, '7', k.coupon, k.holders, k.outbox, k.memo('bench-__rand_int__'), k.attempts('issue', 'bench'), ...k.allowLists,
    couponId, 'user-__rand_int__', randomUUID(), '{}', 'fingerprint', '60000', '100000000', '60000', '{}', '100000000']);
  const hincrby = redisBenchmark(port, ['HINCRBY', `${k.coupon}:bench`, 'n__rand_int__', '1']);
  return { node: master, lua, hincrby };
}

/** redis-benchmark of the bucket issue script on the master of one bucket of a coupon in 3 buckets. */
async function bucketCapacity(): Promise<{ node: string; lua: number; usecPerCall: number }> {
  const api = await spawnApp({ ...env, ROLES: 'api', PORT: String(API_PORT) }, 120_000);
  children.push(api);
  const couponId = await createBenchCoupon(api.url, config.jwt, 10_000_000, 'Bucket capacity', 3);
  await stopChild(api);
  const layout = (await new StockBuckets(new ScriptRunner(runtime.redis, config.admission)).layoutOf(couponId))!;
  const k = keysOfBucket(layout, 1);
  const { master } = await servedBy(runtime.redis, Number(await runtime.redis.cluster('KEYSLOT', k.coupon)));
  const port = Number(master.split(':')[1]);
  execFileSync('redis-cli', ['-p', String(port), 'CONFIG', 'RESETSTAT']);
  const sha = execFileSync('redis-cli', ['-p', String(port), 'SCRIPT', 'LOAD', SCRIPTS.bucketIssue.lua], { encoding: 'utf8' }).trim();
  const lua = redisBenchmark(port, ['EVALSHA', sha, '5', k.coupon, k.holders, k.outbox, k.memo('bench-__rand_int__'), k.attempts('issue', 'bench'),
    couponId, 'user-__rand_int__', randomUUID(), '{}', 'fingerprint', '60000', '100000000', '60000', '{}', '1', '', '', '', '', '', '', '', '', '100000000']);
  const stats = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' });
  const usecPerCall = Number(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(stats)?.[1] ?? NaN);
  return { node: master, lua, usecPerCall };
}

/** Relay-shaped batches, 6 in flight (one per partition's worth of keys), acks=all, for `seconds`. */
async function produceRate(topic: string, seconds: number): Promise<number> {
  const producer = await runtime.kafka.producer();
  const value = JSON.stringify({ eventId: randomUUID(), type: 'CouponIssued', version: 1, couponId: 'c'.repeat(26), occurredAt: new Date().toISOString(),
    data: { issuedCouponId: `${'c'.repeat(26)}.00000001`, userId: 'u'.repeat(24), validFrom: new Date().toISOString(), validUntil: new Date().toISOString() },
    meta: { requestId: randomUUID(), actor: 'u'.repeat(24) } });
  let sent = 0;
  const until = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(Array.from({ length: 6 }, async (_, lane) => {
    const batch = Array.from({ length: 1_000 }, (_, i) => ({ key: `coupon-${lane}-${i % 50}`, value }));
    while (Date.now() < until) {
      await producer.append(topic, batch);
      sent += batch.length;
    }
  }));
  await producer.close();
  return Math.round(sent / ((Date.now() - started) / 1000));
}

try {
  children.push(await spawnApp({ ...env, ROLES: 'relay' }, 120_000));
  const baseline = await spawnScript(new URL('./baseline-server.ts', import.meta.url), { PORT: String(BASELINE_PORT) });
  children.push(baseline);
  say('signing 100,000 user tokens');
  const tokensFile = await writeTokensFile(config.jwt, 100_000, 'cluster-bench-user');
  const common = { connections: CONNECTIONS, seconds: SECONDS, tokensFile };
  say(`loading: ${CONNECTIONS} connections, ${SECONDS} s per run, one API process, one relay`);
  const bare = await load('baseline: bare Koa JSON', `http://127.0.0.1:${BASELINE_PORT}/coupons/x/issue`, { ...common, method: 'POST' });
  const r0 = await issueRun(0, tokensFile);
  const r1 = await issueRun(1, tokensFile);
  for (const r of [bare, r0, r1]) say(`  ${r.name}: ${r.rps} req/s, p99 ${r.p99} ms`);
  for (const child of [...children]) await stopChild(child);

  say('one hot coupon: the issue route on a coupon in 1 bucket, then in one bucket per master');
  const masters = masterNodes(runtime.redis);
  const hot: HotRun[] = await hotCouponRuns({ env, config, runtime, masters, port: API_PORT, connections: CONNECTIONS, seconds: SECONDS, children });
  const hotLine = (r: HotRun) => `buckets=${r.buckets}: ${r.load.rps} req/s, ${r.load.cpuUsPerRequest} µs API CPU per request; script calls per master ${r.callsPerMaster.join(' / ')}; issued per bucket ${r.issuedPerBucket.join(' / ')}`;
  for (const r of hot) say(`  ${hotLine(r)}`);

  say('one Redis master: the issue script beside HINCRBY (redis-benchmark, 50 connections, pipeline 16)');
  const capacity = await masterCapacity();
  const bucketCost = await bucketCapacity();
  say('the brokers: relay-shaped batches, acks=all');
  const replicated = await produceRate(config.kafka.topic, SECONDS);
  const single = await produceRate(unreplicated.topic, SECONDS);

  const table = [
    '| run | req/s | p50 ms | p99 ms | answers |',
    '|---|---:|---:|---:|---|',
    ...[bare, r0, r1, ...hot.map((h) => h.load)].map((r) => `| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | 2xx ${r.answers.ok}, 409 ${r.answers.conflict}, other 4xx ${r.answers.client}, 5xx ${r.answers.server}, socket errors ${r.answers.errors} |`),
  ];
  const spread = hot.find((h) => h.buckets > 1)!;
  const line = `issue_r0_rps=${r0.rps} issue_r1_rps=${r1.rps} baseline_rps=${bare.rps} r1_vs_r0=${(r1.rps / r0.rps).toFixed(2)} ` +
    `issue_r0_p99_ms=${r0.p99} issue_r1_p99_ms=${r1.p99} master_lua_per_s=${capacity.lua} master_hincrby_per_s=${capacity.hincrby} ` +
    `kafka_rf3_events_per_s=${replicated} kafka_rf1_events_per_s=${single} ` +
    `hot_k1_rps=${hot[0]!.load.rps} hot_k${spread.buckets}_rps=${spread.load.rps} hot_k${spread.buckets}_calls_per_master=${spread.callsPerMaster.join('/')} ` +
    `hot_spread_pct=${spread.spreadPct} bucket_lua_per_s=${bucketCost.lua} bucket_usec_per_call=${bucketCost.usecPerCall}`;
  const notes = [
    `One Redis master (${capacity.node}) ran the issue script ${capacity.lua.toLocaleString('en')} times/s (HINCRBY on the same node: ${capacity.hincrby.toLocaleString('en')}/s).`,
    ...hot.map((r) => `One hot coupon, ${hotLine(r)}.`),
    `One hot coupon in ${spread.buckets} buckets: the masters ran ${spread.callsPerMaster.map((n) => n.toLocaleString('en')).join(', ')} issue-script calls (${spread.spreadPct} % at most from their mean); in 1 bucket: ${hot[0]!.callsPerMaster.map((n) => n.toLocaleString('en')).join(', ')}.`,
    `One master ran the bucket issue script ${bucketCost.lua.toLocaleString('en')} times/s, ${bucketCost.usecPerCall} µs of Redis CPU per call (${bucketCost.node}).`,
    `The brokers took ${replicated.toLocaleString('en')} events/s with RF 3 and min ISR 2 (unreplicated: ${single.toLocaleString('en')}/s), from one kafkajs producer on these same 2 cores.`,
  ];
  say('');
  for (const row of table) say(row);
  for (const note of notes) say(note);
  say(line);
  writeFileSync(new URL('./CLUSTER-RESULTS.md', import.meta.url), [
    '# Cluster benchmark results', '',
    `Run ${new Date().toISOString()} by \`npm run bench:cluster\` on ${process.version}; 3 Kafka brokers (KRaft), Redis Cluster 3 masters + 3 replicas, MariaDB, every server and the client on one 2-core machine.`,
    `${CONNECTIONS} connections, ${SECONDS} s per run, one API process and one relay.`, '',
    ...table, '', ...notes.map((n) => `- ${n}`), '',
    '```', line, '```', '',
  ].join('\n'));
} finally {
  for (const child of [...children]) await stopChild(child);
  await runtime.kafka.deleteTopics([config.kafka.topic, unreplicated.topic]).catch(() => undefined);
  await closeRuntime(runtime);
}
