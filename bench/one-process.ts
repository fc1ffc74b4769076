import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedConfig } from '../src/config/config.ts';
import { spawnApp, spawnScript, type AppProcess } from '../test/support/app-process.ts';
import { createBenchCoupon, writeTokensFile } from './fixtures.ts';
import { openLoop, writeTargets, type OpenLoopResult } from './open-loop.ts';
import { load, type LoadResult } from './wrk-load.ts';

export interface OneProcessBench {
  bare: LoadResult;
  issue: LoadResult;
  read: LoadResult;
  soldOut: LoadResult;
  halfLoad: OpenLoopResult;
}

const WARM_UP_SECONDS = 3;
/** More than a run can send at the bare route's rate: wrk's two threads start half the file apart. */
const FRESH_USERS = 400_000;

/**
 * What one API process does beside one bare Koa process, the same wrk client (2 threads, a new user's token on
 * every request) for each, as an operator would try it: `ROLES=api`, no relay (the outbox bound lifted so
 * nothing stops at it). Then the admitting route again at half its measured rate, open loop, for the latency a
 * user sees when the process is not saturated.
 */
export async function benchOneProcess(options: {
  env: Record<string, string>; config: ResolvedConfig; tokensFile: string; connections: number; seconds: number; say: (line: string) => void;
}): Promise<OneProcessBench> {
  const { env, config, tokensFile, say } = options;
  const run = { connections: options.connections, seconds: options.seconds, tokensFile };
  const processes: AppProcess[] = [];
  try {
    const bareProcess = await spawnScript(new URL('./baseline-server.ts', import.meta.url), { PORT: '0' });
    processes.push(bareProcess);
    // BENCH_PROFILE=dir writes a CPU profile of the API process there (open it in Chrome DevTools).
    const profile = process.env.BENCH_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}` } : {};
    const apiProcess = await spawnApp({ ...env, ...profile, ROLES: 'api', PORT: '0', OUTBOX_MAX_ENTRIES: '100000000' });
    processes.push(apiProcess);
    const bareUrl = bareProcess.url;
    const api = apiProcess.url;
    const coupon = (quantity: number, name: string) => createBenchCoupon(api, config.jwt, quantity, name);

    const warmUp = await coupon(10_000_000, 'One process: warm-up');
    await load('warm-up', `${bareUrl}/coupons/${warmUp}/issue`, { ...run, method: 'POST', seconds: WARM_UP_SECONDS });
    await load('warm-up', `${api}/coupons/${warmUp}/issue`, { ...run, method: 'POST', seconds: WARM_UP_SECONDS });

    // Users this process has never seen, per run: what an opening second looks like, and no run is helped
    // by tokens an earlier one left in the verified-token cache.
    const fresh = (name: string) => writeTokensFile(config.jwt, FRESH_USERS, `one-${name}`);
    say(`one process: ${options.connections} connections, ${options.seconds} s per run`);
    const admitting = await coupon(10_000_000, 'One process: admitting');
    const bare = await load('1 process: bare Koa JSON', `${bareUrl}/coupons/${admitting}/issue`, { ...run, method: 'POST', cpuOf: bareProcess.child.pid });
    const apiCpu = { cpuOf: apiProcess.child.pid };
    const issue = await load('1 process: POST /coupons/{id}/issue (admitting)', `${api}/coupons/${admitting}/issue`, { ...run, ...apiCpu, tokensFile: await fresh('issue'), method: 'POST' });
    const read = await load('1 process: GET /coupons/{id}', `${api}/coupons/${admitting}`, { ...run, ...apiCpu, tokensFile: await fresh('read'), method: 'GET' });
    const gone = await coupon(1, 'One process: sold out');
    const storm = await fresh('sold-out');
    await load('sell out', `${api}/coupons/${gone}/issue`, { ...run, tokensFile, method: 'POST', seconds: 1 });
    const soldOut = await load('1 process: POST /coupons/{id}/issue (sold out)', `${api}/coupons/${gone}/issue`, { ...run, ...apiCpu, tokensFile: storm, method: 'POST' });

    // A fresh coupon, so every request of the open-loop run admits as in the closed-loop one.
    const rate = Math.max(1, Math.round(issue.rps / 2));
    const targets = join(mkdtempSync(join(tmpdir(), 'bench-targets-')), 'issue.jsonl');
    await writeTargets(targets, `${api}/coupons/${await coupon(10_000_000, 'One process: half load')}/issue`, 'POST', await fresh('half-load'));
    say(`open loop: ${rate} req/s for ${options.seconds} s`);
    const halfLoad = await openLoop(targets, rate, options.seconds);
    return { bare, issue, read, soldOut, halfLoad };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
  }
}
