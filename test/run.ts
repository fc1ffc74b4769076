/**
 * `npm test` and `npm run test:unit`. Finds the services (endpoints from the environment, else
 * Testcontainers where a Docker engine answers, else the project's local `test` stack), then runs every
 * test file in a process of its own, at most TEST_CONCURRENCY (2) at a time. Each file gets a Redis
 * database, a MySQL database and a Kafka topic (so consumer groups too) that no other file sees; files
 * named `*.outage.test.ts` stop or pause shared servers and run alone. Counts come from the result lines
 * each test writes (test/support/spec.ts), never from parsing output: a file that crashes counts every
 * test it declared and did not finish as failed. The last line is `N passed, N failed, N skipped`.
 *
 * `npm test -- [dir] [pattern]` runs the files under dir whose path matches pattern; `--unit` runs only
 * the unit tier (`*.unit.test.ts`) and needs no service. With TEST_ALLOWED_SKIPS set (CI sets it), a test
 * skipped for any reason key not listed there counts as failed.
 */
import '../src/runtime/pinned-node.ts';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { loadConfig } from '../src/config/config.ts';
import { recreateDatabase } from '../src/db/recreate-database.ts';
import { KafkaClient } from '../src/kafka/kafka-client.ts';
import { connectRedis, flushEveryNode } from '../src/redis/redis-client.ts';
import { createLogger } from '../src/log/logger.ts';
import { ensureLocalStack, type StackEndpoints } from '../src/stack/local-stack.ts';
import { startContainerStack } from './support/container-stack.ts';
import type { ResultLine } from './support/spec.ts';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const [dir = 'test', pattern = '.'] = args.filter((a) => !a.startsWith('--'));
const base = loadConfig();
const onCluster = base.topology === 'cluster' || Boolean(base.redisClusterNodes);
// A Redis Cluster has one database: files take turns, each after a flush, instead of a database each.
const concurrency = onCluster ? 1 : Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 2));
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 600_000);
const allowedSkips = process.env.TEST_ALLOWED_SKIPS === undefined ? undefined : new Set(process.env.TEST_ALLOWED_SKIPS.split(',').map((s) => s.trim()).filter(Boolean));
const say = (line: string) => process.stdout.write(`${line}\n`);
const root = new URL('..', import.meta.url).pathname;

interface TestFile {
  path: string;
  /** `coupons/issue-concurrency`: names its database, topic and results. */
  id: string;
  kind: 'unit' | 'integration' | 'exclusive';
}

function findFiles(): TestFile[] {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(folder, e.name)) : [join(folder, e.name)]));
  const match = new RegExp(pattern);
  return walk(join(root, dir))
    .filter((p) => p.endsWith('.test.ts') && match.test(relative(root, p)))
    .sort()
    .map((path) => {
      // The tier is in the name: unit (no service), int (real services), outage (stops shared servers: alone), cluster (cluster topology only).
      const tier = /\.(unit|int|outage|cluster)\.test\.ts$/.exec(path)?.[1];
      if (!tier) throw new Error(`${relative(root, path)}: name its tier, *.unit|int|outage|cluster.test.ts`);
      const id = relative(join(root, 'test'), path).replace(/(\.(unit|int))?\.test\.ts$/, '');
      const kind = tier === 'unit' ? 'unit' : tier === 'outage' ? 'exclusive' : 'integration';
      return { path, id, kind } as TestFile;
    })
    .filter((f) => !unitOnly || f.kind === 'unit')
    // `*.cluster.test.ts` need the cluster topology and run only on it (`npm run test:cluster`).
    .filter((f) => onCluster || !f.path.endsWith('.cluster.test.ts'));
}

const slug = (id: string) => id.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
const files = findFiles();
const bySlug = new Map(files.map((f) => [slug(f.id), f.path]));
if (bySlug.size !== files.length) throw new Error('two test files map to the same database and topic name; rename one');
if (files.length === 0) {
  say(`no test files under ${dir} match ${pattern}`);
  say('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

// ---- services -------------------------------------------------------------------------------------------

const dockerAnswers = () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
let stack: 'none' | 'external' | 'containers' | 'local' = 'none';
let endpoints: StackEndpoints | undefined;
let stopContainers: (() => Promise<void>) | undefined;
const started = Date.now();

/** A stack the run owns starts from nothing: every Redis database, every topic, every test database. */
async function resetOwnedState(e: StackEndpoints): Promise<void> {
  await flushRedis(e);
  const url = new URL(e.mysqlUrl);
  const server = await createConnection({ host: url.hostname, port: Number(url.port), user: url.username, password: url.password });
  const [rows] = await server.query<{ name: string }[] & import('mysql2').RowDataPacket[]>(
    "SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'",
  );
  for (const { name } of rows) await server.query(`DROP DATABASE \`${name}\``);
  await server.end();
  const kafka = new KafkaClient({ brokers: e.kafkaBrokers, clientId: 'test-reset' }, createLogger('warn'));
  await kafka.deleteTopics((await kafka.listTopics()).filter((t) => !t.startsWith('__')));
  await kafka.close();
}

async function flushRedis(e: StackEndpoints, db?: number): Promise<void> {
  if (e.redisClusterNodes) {
    const cluster = await connectRedis({ url: e.redisUrl, clusterNodes: e.redisClusterNodes }, { commandTimeoutMs: 10_000 });
    await flushEveryNode(cluster);
    await cluster.quit();
    return;
  }
  const url = new URL(e.redisUrl);
  if (db !== undefined) url.pathname = `/${db}`;
  const redis = new Redis(url.toString());
  await (db === undefined ? redis.flushall() : redis.flushdb());
  await redis.quit();
}

if (files.some((f) => f.kind !== 'unit')) {
  if ((base.redisUrl || base.redisClusterNodes) && base.mysqlUrl && base.kafka.brokers) {
    stack = 'external';
    endpoints = { redisUrl: base.redisUrl ?? '', redisClusterNodes: base.redisClusterNodes, mysqlUrl: base.mysqlUrl, kafkaBrokers: base.kafka.brokers };
  } else if (onCluster) {
    stack = 'local';
    endpoints = await ensureLocalStack(base.stackDir, 'test', (line) => say(`stack: ${line}`), undefined, 'cluster');
    await resetOwnedState(endpoints);
  } else if (dockerAnswers()) {
    stack = 'containers';
    const containers = await startContainerStack();
    endpoints = containers.endpoints;
    stopContainers = containers.stop;
    await resetOwnedState(endpoints);
  } else {
    stack = 'local';
    endpoints = await ensureLocalStack(base.stackDir, 'test', (line) => say(`stack: ${line}`));
    await resetOwnedState(endpoints);
  }
  say(`services (${stack}) ready in ${Date.now() - started} ms`);
}

// ---- one file ---------------------------------------------------------------------------------------------

interface FileResult {
  file: TestFile;
  passed: number;
  failed: number;
  skipped: { test: string; key: string; reason: string }[];
  failures: string[];
  seconds: number;
  output: string;
  warning?: string;
}

const resultsDir = mkdtempSync(join(tmpdir(), 'coupon-tests-'));
/** Redis databases 1–15 (0 is left to people poking around); a file gets a flushed one of its own. */
const freeRedisDbs = Array.from({ length: 15 }, (_, i) => i + 1);

/** For a file that died before declaring anything: the tests it would have declared, counted in its source. */
function declaredInSource(path: string): number {
  const source = readFileSync(path, 'utf8');
  const names = [...source.matchAll(/const (\w+) = spec\b/g)].map((m) => m[1]!);
  if (names.length === 0) return 1;
  return Math.max(1, [...source.matchAll(new RegExp(`^\\s*(?:${names.join('|')})\\(\\s*[\`'"]`, 'gm'))].length);
}

async function environmentFor(file: TestFile, db: number): Promise<NodeJS.ProcessEnv> {
  if (!endpoints) return {};
  if (stack !== 'external') await flushRedis(endpoints, endpoints.redisClusterNodes ? undefined : db);
  const redisUrl = new URL(endpoints.redisUrl || 'redis://unused');
  redisUrl.pathname = `/${db}`;
  return {
    TEST_STACK: stack,
    ...(endpoints.redisClusterNodes
      ? { REDIS_CLUSTER_NODES: endpoints.redisClusterNodes.join(','), REDIS_URL: '', STACK_TOPOLOGY: 'cluster' }
      : { REDIS_URL: redisUrl.toString() }),
    MYSQL_URL: await recreateDatabase(endpoints.mysqlUrl, `t_${slug(file.id)}`.slice(0, 64)),
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC: `test.${slug(file.id)}`,
  };
}

async function runFile(file: TestFile): Promise<FileResult> {
  const db = freeRedisDbs.shift()!;
  const resultsFile = join(resultsDir, `${slug(file.id)}.jsonl`);
  const began = Date.now();
  let output = '';
  let warning: string | undefined;
  try {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', file.path], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...(await environmentFor(file, db)),
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
        JWT_SECRET: process.env.JWT_SECRET ?? 'test-secret-that-is-at-least-32-characters-long',
        TEST_RESULTS_FILE: resultsFile,
      },
    });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // A file is over when it exits; one that hangs after its suites reported done (an open handle) is
    // stopped after a grace period, and one that runs past the time limit is killed.
    const watch = setInterval(() => {
      const lines = readLines(resultsFile);
      const suites = new Set(lines.filter((l) => l.event === 'declared').map((l) => l.suite));
      const done = new Set(lines.filter((l) => l.event === 'done').map((l) => l.suite));
      if (suites.size > 0 && [...suites].every((s) => done.has(s)) && !warning) {
        warning = 'kept running after its last suite finished (an open handle); stopped';
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }
      if (Date.now() - began > fileTimeoutMs) {
        warning = `ran past ${fileTimeoutMs / 1000} s; killed`;
        child.kill('SIGKILL');
      }
    }, 1_000);
    const code = await exited;
    clearInterval(watch);
    if (code === 0 || warning?.startsWith('kept running')) warning = code === 0 ? undefined : warning;
    return tally(file, readLines(resultsFile), code, output, (Date.now() - began) / 1000, warning);
  } finally {
    freeRedisDbs.push(db);
  }
}

function readLines(path: string): ResultLine[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultLine);
  } catch {
    return [];
  }
}

function tally(file: TestFile, lines: ResultLine[], code: number | null, output: string, seconds: number, warning?: string): FileResult {
  const result: FileResult = { file, passed: 0, failed: 0, skipped: [], failures: [], seconds, output, warning };
  const finished = new Set<string>();
  for (const line of lines) {
    if (line.event === 'passed') result.passed++;
    if (line.event === 'failed') {
      result.failed++;
      result.failures.push(`${line.suite} › ${line.test}: ${line.reason ?? ''}`);
    }
    if (line.event === 'skipped') {
      if (allowedSkips && !allowedSkips.has(line.skipKey ?? '')) {
        result.failed++;
        result.failures.push(`${line.suite} › ${line.test}: skipped (${line.skipKey}: ${line.reason}), and this run expects it to run`);
      } else {
        result.skipped.push({ test: `${line.suite} › ${line.test}`, key: line.skipKey ?? '', reason: line.reason ?? '' });
      }
    }
    if (line.event === 'teardown-failed') {
      result.failed++;
      result.failures.push(`${line.suite} › teardown: ${line.reason}`);
    }
    if (line.event === 'passed' || line.event === 'failed' || line.event === 'skipped') finished.add(`${line.suite}\n${line.test}`);
  }
  const declared = lines.filter((l) => l.event === 'declared');
  const unfinished = declared.filter((l) => !finished.has(`${l.suite}\n${l.test}`));
  const why = warning ?? `the process exited with ${code}`;
  for (const l of unfinished) {
    result.failed++;
    result.failures.push(`${l.suite} › ${l.test}: did not finish (${why})`);
  }
  if (declared.length === 0) {
    const count = declaredInSource(file.path);
    result.failed += count;
    result.failures.push(`${count} test(s) never ran: the file crashed before declaring them (${why})`);
  } else if (code !== 0 && result.failed === 0 && !warning) {
    result.failed++;
    result.failures.push(`every test passed, yet the process exited with ${code}`);
  }
  return result;
}

function report(r: FileResult): void {
  const counts = [`${r.passed} passed`, ...(r.failed ? [`${r.failed} failed`] : []), ...(r.skipped.length ? [`${r.skipped.length} skipped`] : [])];
  say(`${r.failed ? '✗' : '✓'} ${relative(root, r.file.path)}  ${counts.join(', ')}  (${r.seconds.toFixed(1)} s)`);
  for (const s of r.skipped) say(`    ↷ skipped ${s.test}: ${s.reason} [${s.key}]`);
  if (r.warning) say(`    ! ${r.warning}`);
  if (r.failed) {
    for (const f of r.failures) say(`    ✗ ${f}`);
    say(r.output.replace(/^/gm, '    | '));
  }
}

// ---- the run ----------------------------------------------------------------------------------------------

const results: FileResult[] = [];
const queue = [...files.filter((f) => f.kind === 'unit'), ...files.filter((f) => f.kind === 'integration'), ...files.filter((f) => f.kind === 'exclusive')];
say(`${files.length} test files, ${concurrency} at a time${files.some((f) => f.kind === 'exclusive') ? ' (outage tests alone)' : ''}`);

async function worker(): Promise<void> {
  for (;;) {
    const next = queue[0];
    if (!next) return;
    // An outage test stops or pauses servers every file shares: it waits for the others and runs alone.
    if (next.kind === 'exclusive' && running > 0) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (exclusiveRunning) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    queue.shift();
    running++;
    exclusiveRunning = next.kind === 'exclusive';
    try {
      const result = await runFile(next);
      results.push(result);
      report(result);
    } finally {
      running--;
      exclusiveRunning = false;
    }
  }
}
let running = 0;
let exclusiveRunning = false;
await Promise.all(Array.from({ length: concurrency }, worker));
await stopContainers?.();
rmSync(resultsDir, { recursive: true, force: true });

const sum = (pick: (r: FileResult) => number) => results.reduce((n, r) => n + pick(r), 0);
const passed = sum((r) => r.passed);
const failed = sum((r) => r.failed);
const skipped = sum((r) => r.skipped.length);
say(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s${failed ? `; failed in: ${results.filter((r) => r.failed).map((r) => relative(root, r.file.path)).join(', ')}` : ''}`);
say(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 ? 0 : 1);
