/**
 * `npm run bench:soak`: one all-roles process (API, relay, projector, notifier), first through the storms that
 * left it at 537–550 MiB before issue 24 (two 20-second admission storms, a new user on every request, and two
 * sold-out storms of 20,000 users), then under mixed load, open loop, for BENCH_SOAK_SECONDS (600): new users
 * issuing, the coupon read, and holders using theirs, a third each. Its RSS and V8 heap are sampled every
 * 10 s. Also run at the end of `npm run bench` (soak_rss_mib).
 */
import '../src/runtime/pinned-node.ts';
import { readFileSync, createWriteStream } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig, type ResolvedConfig } from '../src/config/config.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/schema.ts';
import { closeRuntime } from '../src/runtime/runtime.ts';
import { openBenchRuntime } from './projections.ts';
import { spawnApp } from '../test/support/app-process.ts';
import { createBenchCoupon, writeTokensFile } from './fixtures.ts';
import { ensureVegeta } from './open-loop.ts';
import { load } from './wrk-load.ts';

export interface SoakSample {
  seconds: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** V8's young generation and old space as reserved, which is most of what RSS holds beyond the heap in use. */
  newSpaceMiB: number;
  oldSpaceMiB: number;
}

export interface SoakResult {
  afterStorms: SoakSample;
  samples: SoakSample[];
  /** RSS growth over the last half of the mixed load, as a fraction of its RSS at the half. */
  lastHalfGrowth: number;
  finalRssMiB: number;
  statuses: Record<string, number>;
}

const STORM_SECONDS = 20;
const STORM_USERS = 400_000;
const SOLD_OUT_USERS = 20_000;
const HOLDERS = 20_000;
const MIB = 1024 * 1024;

/** The process's resident set, from /proc, and V8's heap and external memory, from its own /metrics. */
async function sample(pid: number, api: string, seconds: number): Promise<SoakSample> {
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const text = await (await fetch(`${api}/metrics`)).text();
  const metric = (name: string) => {
    const match = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)`, 'm').exec(text);
    return match ? Math.round((Number(match[1]) / MIB) * 10) / 10 : NaN;
  };
  return {
    seconds, rssMiB: Math.round((rssKb / 1024) * 10) / 10, heapUsedMiB: metric('nodejs_heap_size_used_bytes'),
    heapTotalMiB: metric('nodejs_heap_size_total_bytes'), externalMiB: metric('nodejs_external_memory_bytes'),
    newSpaceMiB: metric('nodejs_heap_space_size_total_bytes{space="new"}'), oldSpaceMiB: metric('nodejs_heap_space_size_total_bytes{space="old"}'),
  };
}

/** vegeta targets, a third of each: a new user issuing, the coupon read, a holder using theirs (again, after the first: ALREADY_USED). */
async function writeMixedTargets(file: string, api: string, couponId: string, newUsers: string[], holders: { token: string; issuedCouponId: string }[]): Promise<void> {
  const out = createWriteStream(file);
  const target = (method: string, url: string, token: string, body?: string) =>
    `${JSON.stringify({ method, url, header: { Authorization: [`Bearer ${token}`], 'Content-Type': ['application/json'] }, ...(body ? { body: Buffer.from(body).toString('base64') } : {}) })}\n`;
  for (let i = 0; i < newUsers.length; i++) {
    const holder = holders[i % holders.length]!;
    const lines = target('POST', `${api}/coupons/${couponId}/issue`, newUsers[i]!) + target('GET', `${api}/coupons/${couponId}`, newUsers[i]!) +
      target('POST', `${api}/issued-coupons/${holder.issuedCouponId}/use`, holder.token, JSON.stringify({ orderId: `soak-${holder.issuedCouponId}` }));
    if (!out.write(lines)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function soak(options: {
  env: Record<string, string>; config: ResolvedConfig; db: Kysely<Database>; seconds: number; rate: number; say: (line: string) => void;
}): Promise<SoakResult> {
  const { env, config, db, rate, say } = options;
  // At least one sample; tokens live an hour, so a longer soak would end sending expired ones.
  const seconds = Math.min(Math.max(options.seconds, 10), 3_000);
  const vegeta = ensureVegeta();
  const app = await spawnApp({ ...env, PORT: '0', OUTBOX_MAX_ENTRIES: '100000000', USER_LIMIT: '100000' });
  const pid = app.child.pid!;
  const started = Date.now();
  const at = () => Math.round((Date.now() - started) / 1000);
  try {
    const api = app.url;
    const run = { connections: 50, method: 'POST' as const };
    say(`soak: storms first (${STORM_SECONDS} s of admissions twice, ${SOLD_OUT_USERS.toLocaleString('en')} users at a sold-out coupon twice)`);
    for (const storm of [1, 2]) {
      const couponId = await createBenchCoupon(api, config.jwt, 10_000_000, `Soak storm ${storm}`);
      await load(`storm ${storm}`, `${api}/coupons/${couponId}/issue`, { ...run, seconds: STORM_SECONDS, tokensFile: await writeTokensFile(config.jwt, STORM_USERS, `soak-storm-${storm}`) });
      const gone = await createBenchCoupon(api, config.jwt, 1, `Soak sold out ${storm}`);
      await load(`sold out ${storm}`, `${api}/coupons/${gone}/issue`, { ...run, seconds: 4, tokensFile: await writeTokensFile(config.jwt, SOLD_OUT_USERS, `soak-gone-${storm}`) });
    }
    await new Promise((r) => setTimeout(r, 10_000));
    // BENCH_SOAK_SNAPSHOT=true (with NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2): a heap snapshot of what the storms left.
    if (process.env.BENCH_SOAK_SNAPSHOT === 'true') {
      app.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 20_000));
    }
    const afterStorms = await sample(pid, api, at());
    say(`soak: after the storms RSS ${afterStorms.rssMiB} MiB (heap ${afterStorms.heapUsedMiB} used of ${afterStorms.heapTotalMiB}: new ${afterStorms.newSpaceMiB}, old ${afterStorms.oldSpaceMiB}; external ${afterStorms.externalMiB})`);

    // Holders to use theirs: issued now, their ids read back from the read model.
    const heldCoupon = await createBenchCoupon(api, config.jwt, HOLDERS, 'Soak held');
    const holderFile = await writeTokensFile(config.jwt, HOLDERS, 'soak-holder');
    const holderTokens = readFileSync(holderFile, 'utf8').split('\n').filter(Boolean);
    await load('holders', `${api}/coupons/${heldCoupon}/issue`, { ...run, seconds: 10, tokensFile: holderFile });
    const deadline = Date.now() + 120_000;
    let rows: { id: string; user_id: string }[] = [];
    while (rows.length < HOLDERS && Date.now() < deadline) {
      rows = await db.selectFrom('issued_coupon').select(['id', 'user_id']).where('coupon_id', '=', heldCoupon).execute();
      if (rows.length < HOLDERS) await new Promise((r) => setTimeout(r, 500));
    }
    if (rows.length < HOLDERS) throw new Error(`only ${rows.length} of ${HOLDERS} holders reached the read model`);
    const idOf = new Map(rows.map((r) => [r.user_id, r.id]));
    const holders = holderTokens.map((token, i) => ({ token, issuedCouponId: idOf.get(`soak-holder-${i}`)! }));

    const mixedCoupon = await createBenchCoupon(api, config.jwt, 10_000_000, 'Soak mixed');
    const users = Math.ceil((rate * seconds) / 3) + 1;
    const newUsers = readFileSync(await writeTokensFile(config.jwt, users, 'soak-mixed'), 'utf8').split('\n').filter(Boolean);
    const dir = mkdtempSync(join(tmpdir(), 'bench-soak-'));
    await writeMixedTargets(join(dir, 'targets.jsonl'), api, mixedCoupon, newUsers, holders);
    say(`soak: mixed load at ${rate} req/s for ${seconds} s, RSS every 10 s`);
    const attack = promisify(execFile)(vegeta, ['attack', '-format=json', '-lazy', `-targets=${join(dir, 'targets.jsonl')}`, `-rate=${rate}/s`, `-duration=${seconds}s`,
      '-timeout=10s', '-keepalive=true', `-output=${join(dir, 'results.bin')}`], { maxBuffer: 1 << 20 });
    const samples: SoakSample[] = [];
    const mixedStart = Date.now();
    while (Date.now() - mixedStart < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 10_000));
      const s = await sample(pid, api, Math.round((Date.now() - mixedStart) / 1000));
      samples.push(s);
      say(`  ${s.seconds} s: RSS ${s.rssMiB} MiB, heap ${s.heapUsedMiB}/${s.heapTotalMiB} MiB (new ${s.newSpaceMiB}, old ${s.oldSpaceMiB}), external ${s.externalMiB} MiB`);
    }
    await attack;
    const { stdout } = await promisify(execFile)(vegeta, ['report', '-type=json', join(dir, 'results.bin')]);
    const statuses = (JSON.parse(stdout) as { status_codes: Record<string, number> }).status_codes;
    const half = samples.find((s) => s.seconds >= seconds / 2) ?? samples[0]!;
    const last = samples.at(-1)!;
    return { afterStorms, samples, lastHalfGrowth: (last.rssMiB - half.rssMiB) / half.rssMiB, finalRssMiB: last.rssMiB, statuses };
  } finally {
    await app.stop();
  }
}

if (import.meta.main) {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const { runtime, env } = await openBenchRuntime('coupon_bench_soak', 'bench-soak.coupon.events', 5);
  await runtime.redis.flushdb();
  try {
    const config = loadConfig({ ...process.env, ...env }) as ResolvedConfig;
    const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
    const result = await soak({ env: { ...env, LOG_LEVEL: 'warn' }, config, db: runtime.db, seconds, rate: Number(process.env.BENCH_SOAK_RATE ?? 1_000), say });
    say(`statuses ${JSON.stringify(result.statuses)}; RSS after the storms ${result.afterStorms.rssMiB} MiB; last half grew ${(result.lastHalfGrowth * 100).toFixed(1)} %`);
    say(`soak_rss_mib=${result.finalRssMiB}`);
  } finally {
    await closeRuntime(runtime);
  }
  process.exit(0);
}
