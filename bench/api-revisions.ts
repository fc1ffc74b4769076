/**
 * `npm run bench:api-revisions -- <revision>`: the per-request cost of a change. One API process with that
 * revision's code (a git worktree) and one with this tree's, side by side against the same Redis, loaded in
 * turn by the same wrk client (a new user's token on every request) on the admitting issue route, three rounds
 * each, alternating so the machine's drift falls on both. Prints every round, with each process's CPU time per
 * request, and the ratio of the medians.
 */
import '../src/runtime/pinned-node.ts';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ResolvedConfig } from '../src/config/config.ts';
import { closeRuntime } from '../src/runtime/runtime.ts';
import { spawnScript, type AppProcess } from '../test/support/app-process.ts';
import { baselineTree, createBenchCoupon, writeTokensFile } from './fixtures.ts';
import { openBenchRuntime } from './projections.ts';
import { recreateDatabase } from '../src/db/recreate-database.ts';
import { ensureWrk, load, type LoadResult } from './wrk-load.ts';

const ROUNDS = 3;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const say = (line: string) => process.stdout.write(`${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const revision = process.argv[2] ?? process.env.BENCH_BASELINE;
if (!revision) {
  process.stderr.write('usage: npm run bench:api-revisions -- <git revision to compare this tree with>\n');
  process.exit(2);
}

ensureWrk();
const { runtime, env } = await openBenchRuntime('coupon_bench_revisions', 'bench.revisions', 12);
const config = loadConfig({ ...process.env, ...env }) as ResolvedConfig;
// No relay: both processes append to the outbox, and nothing they do may stop at its bound.
const apiEnv = { ...env, ROLES: 'api', LOG_LEVEL: 'warn', OUTBOX_MAX_ENTRIES: '100000000', USER_LIMIT: '1000' };
// Each tree migrates a database of its own: one revision's schema may not be the other's (the issue route
// writes nothing to MySQL, so this changes nothing measured).
const trees = [
  { name: `${revision} (before)`, main: `${baselineTree(revision)}/src/main.ts`, port: 38_280, mysqlUrl: await recreateDatabase(env.MYSQL_URL!, 'coupon_bench_revisions_before') },
  { name: 'this tree (after)', main: fileURLToPath(new URL('../src/main.ts', import.meta.url)), port: 38_281, mysqlUrl: env.MYSQL_URL! },
];
const processes: AppProcess[] = [];
try {
  for (const tree of trees) processes.push(await spawnScript(tree.main, { ...apiEnv, PORT: String(tree.port), MYSQL_URL: tree.mysqlUrl }, 120_000));
  const pidOf = new Map(trees.map((t, i) => [t.name, processes[i]!.child.pid]));
  // Users of their own for every run, more than a run can send: every request is a new user, none already holds
  // one, and no run finds tokens an earlier one left in a process's verified-token cache.
  const freshTokens = (run: string, users = 300_000) => writeTokensFile(config.jwt, users, `revisions-${run}`);
  for (const tree of trees) {
    const url = `http://127.0.0.1:${tree.port}`;
    const couponId = await createBenchCoupon(url, config.jwt, 10_000_000, 'Warm-up');
    await load('warm-up', `${url}/coupons/${couponId}/issue`, { method: 'POST', connections: CONNECTIONS, seconds: 3, tokensFile: await freshTokens(`warm-up-${tree.port}`, 100_000) });
  }
  const results = new Map<string, LoadResult[]>(trees.map((t) => [t.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const tree of round % 2 === 1 ? trees : [...trees].reverse()) {
      const url = `http://127.0.0.1:${tree.port}`;
      // A fresh coupon per round: every request admits (none is a repeat of a user who already holds one).
      const couponId = await createBenchCoupon(url, config.jwt, 10_000_000, `Revisions round ${round}`);
      const result = await load(tree.name, `${url}/coupons/${couponId}/issue`, { method: 'POST', connections: CONNECTIONS, seconds: SECONDS, tokensFile: await freshTokens(`${round}-${tree.port}`), cpuOf: pidOf.get(tree.name) });
      results.get(tree.name)!.push(result);
      say(`  round ${round} ${tree.name}: ${result.rps} req/s, CPU ${result.cpuUsPerRequest} µs per request, p99 ${result.p99} ms, 2xx ${result.answers.ok}, other ${result.answers.conflict + result.answers.client + result.answers.server + result.answers.errors}`);
    }
  }
  const [before, after] = trees.map((t) => results.get(t.name)!);
  const [b, a] = [median(before!.map((r) => r.rps)), median(after!.map((r) => r.rps))];
  const [bp, ap] = [median(before!.map((r) => r.p99)), median(after!.map((r) => r.p99))];
  const [bc, ac] = [median(before!.map((r) => r.cpuUsPerRequest!)), median(after!.map((r) => r.cpuUsPerRequest!))];
  say(`\nmedian issue req/s: before ${b}, after ${a} (after/before ${(a / b).toFixed(2)}); median CPU µs per request: before ${bc}, after ${ac} ` +
    `(after/before ${(ac / bc).toFixed(2)}); median p99 ms: before ${bp}, after ${ap}`);
} finally {
  await Promise.all(processes.map((p) => p.stop()));
  await closeRuntime(runtime);
}
