/**
 * `npm run bench:script-cost [-- <revision>]`: what one admitting issue decision costs Redis. A private
 * redis-server (the stack's flags: AOF every second, no RDB) takes 20,000 admitting issue calls through the
 * platform's own script adapter (a new user each, 50 in flight), then as many `HINCRBY`s; `INFO commandstats`
 * gives each its `usec_per_call`, and the commands the script ran inside it theirs, so the Lua around them is
 * what is left. With a revision, its scripts (from a git worktree) are measured too, on a server of their own,
 * rounds alternating, so both are measured in one run. Printed as tables and a closing line.
 */
import '../src/runtime/pinned-node.ts';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { AdmissionStore } from '../src/coupons/admission/admission-store.ts';
import { baselineTree } from './fixtures.ts';
import { internalRequest } from '../src/idempotency/admission-request.ts';
import { uuidv7 } from '../src/ids/ids.ts';
import { freePort } from '../test/support/free-port.ts';

const CALLS = Number(process.env.BENCH_SCRIPT_CALLS ?? 20_000);
const IN_FLIGHT = 50;

export interface ScriptCost {
  /** The admitting issue script's `usec_per_call`. */
  issueUsec: number;
  hincrbyUsec: number;
  /** The commands the script ran, each with its calls per decision and µs per call. */
  inner: { command: string; perDecision: number; usecPerCall: number }[];
}

/** `INFO commandstats` as command → calls, usec. */
export async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

async function inFlight(total: number, run: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < total) await run(next++);
  }));
}

type Store = Pick<AdmissionStore, 'create' | 'issue'>;
type StoreClass = new (redis: Redis, settings: ConstructorParameters<typeof AdmissionStore>[1]) => Store;

/** Measures the admitting issue script beside HINCRBY on the Redis at `url` (its command stats are reset). */
export async function measureScriptCost(url: string, Admission: StoreClass = AdmissionStore): Promise<ScriptCost> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const store = new Admission(redis, { shards: 1, retryMs: 5_000, outboxMaxEntries: 100_000_000, userLimit: { requests: 1_000, windowMs: 60_000 } });
    const couponId = uuidv7();
    const now = Date.now();
    await store.create(couponId, uuidv7(), {
      name: 'Script cost', totalQuantity: CALLS, discount: { type: 'PERCENT', value: 10 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
    }, { actor: 'bench' }, internalRequest());
    await redis.config('RESETSTAT');
    await inFlight(CALLS, async (i) => {
      const result = await store.issue(couponId, `script-cost-user-${i}`, uuidv7(), { requestId: `req-${i}`, actor: `script-cost-user-${i}` }, internalRequest());
      if (result.outcome !== 'ISSUED') throw new Error(`call ${i} was not admitted: ${result.outcome}`);
    });
    const afterIssue = await commandStats(redis);
    await inFlight(CALLS, () => redis.hincrby('script-cost-counter', 'n', 1));
    const afterHincrby = await commandStats(redis);
    // ioredis sends the first call as EVAL (the script not yet loaded), every later one as EVALSHA.
    const evalsha = afterIssue.get('evalsha');
    if (!evalsha || evalsha.calls + (afterIssue.get('eval')?.calls ?? 0) !== CALLS) throw new Error(`expected ${CALLS} script calls, saw ${evalsha?.calls}`);
    const hincrby = afterHincrby.get('hincrby')!;
    const inner = [...afterIssue].filter(([command]) => !/^(evalsha|eval|config|info|hincrby)\b/.test(command))
      .map(([command, s]) => ({ command, perDecision: s.calls / CALLS, usecPerCall: s.usec / s.calls }));
    // HINCRBY runs inside the script too: what the bare calls added is the bare HINCRBY.
    const scriptHincrby = afterIssue.get('hincrby');
    if (scriptHincrby) inner.push({ command: 'hincrby', perDecision: scriptHincrby.calls / CALLS, usecPerCall: scriptHincrby.usec / scriptHincrby.calls });
    return {
      issueUsec: evalsha.usec / evalsha.calls,
      hincrbyUsec: (hincrby.usec - (scriptHincrby?.usec ?? 0)) / (hincrby.calls - (scriptHincrby?.calls ?? 0)),
      inner,
    };
  } finally {
    redis.disconnect();
  }
}

/** A redis-server of its own, with the stack's persistence flags, for clean command stats. */
export async function privateRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'script-cost-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  const stop = () => {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (attempt > 50) {
        stop();
        throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.disconnect();
  return { url, stop };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function printCost(name: string, cost: ScriptCost): void {
  say(`\n${name}: ${CALLS} admitting issue decisions, then ${CALLS} HINCRBY`);
  say('| command | per decision | µs per call | µs per decision |');
  say('|---|---:|---:|---:|');
  let commands = 0;
  for (const c of cost.inner.sort((a, b) => b.perDecision * b.usecPerCall - a.perDecision * a.usecPerCall)) {
    commands += c.perDecision * c.usecPerCall;
    say(`| ${c.command.toUpperCase()} | ${c.perDecision.toFixed(2)} | ${c.usecPerCall.toFixed(2)} | ${(c.perDecision * c.usecPerCall).toFixed(2)} |`);
  }
  say(`| the script (EVALSHA) | 1 | ${cost.issueUsec.toFixed(2)} | commands ${commands.toFixed(2)}, the rest ${(cost.issueUsec - commands).toFixed(2)} |`);
  say(`HINCRBY alone: ${cost.hincrbyUsec.toFixed(2)} µs per call`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One measurement on a server of its own (BENCH_REDIS_URL: a server started otherwise, under a profiler, say). */
async function onOwnServer(Admission: StoreClass): Promise<ScriptCost> {
  if (process.env.BENCH_REDIS_URL) return measureScriptCost(process.env.BENCH_REDIS_URL, Admission);
  const server = await privateRedis();
  try {
    return await measureScriptCost(server.url, Admission);
  } finally {
    server.stop();
  }
}

if (import.meta.main) {
  const revision = process.argv[2];
  const baseline = revision
    ? ((await import(`${baselineTree(revision)}/src/coupons/admission/admission-store.ts`)) as { AdmissionStore: StoreClass }).AdmissionStore
    : undefined;
  const rounds = revision ? 3 : 1;
  const after: ScriptCost[] = [];
  const before: ScriptCost[] = [];
  for (let round = 0; round < rounds; round++) {
    after.push(await onOwnServer(AdmissionStore));
    if (baseline) before.push(await onOwnServer(baseline));
  }
  const last = after.at(-1)!;
  printCost('this tree', last);
  if (revision) {
    printCost(revision, before.at(-1)!);
    say(`\nmedians of ${rounds} rounds: ${revision} ${median(before.map((c) => c.issueUsec)).toFixed(2)} µs, this tree ${median(after.map((c) => c.issueUsec)).toFixed(2)} µs`);
  }
  say(`issue_script_usec=${median(after.map((c) => c.issueUsec)).toFixed(2)} hincrby_usec=${median(after.map((c) => c.hincrbyUsec)).toFixed(2)}`);
  process.exit(0);
}
