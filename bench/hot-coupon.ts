import type { ResolvedConfig } from '../src/config/config.ts';
import { couponKeys, keysOfBucket } from '../src/coupons/admission/keys.ts';
import { ScriptRunner } from '../src/coupons/admission/script-runner.ts';
import { StockBuckets } from '../src/coupons/admission/stock-buckets.ts';
import type { Redis } from '../src/redis/redis-client.ts';
import type { Runtime } from '../src/runtime/runtime.ts';
import { spawnApp, type AppProcess } from '../test/support/app-process.ts';
import { createBenchCoupon, writeTokensFile } from './fixtures.ts';
import { load, type LoadResult } from './wrk-load.ts';

export interface HotRun {
  buckets: number;
  load: LoadResult;
  /** Issue-script (EVALSHA) calls each master ran during the storm, in the masters' order. */
  callsPerMaster: number[];
  /** Coupons each bucket issued. */
  issuedPerBucket: number[];
  /** How far the busiest or idlest master is from the masters' mean, in percent. */
  spreadPct: number;
}

const evalshaCalls = async (node: Redis) => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0);

/**
 * One hot coupon under an admission storm (one API process, no relay, a new user on every request), first in one
 * bucket, then in one bucket per master: what each master ran (INFO commandstats, reset before the storm) and
 * what each bucket issued.
 */
export async function hotCouponRuns(o: {
  env: Record<string, string>; config: ResolvedConfig; runtime: Runtime; masters: Redis[]; port: number;
  connections: number; seconds: number; children: AppProcess[];
}): Promise<HotRun[]> {
  const buckets = new StockBuckets(new ScriptRunner(o.runtime.redis, o.config.admission));
  const runs: HotRun[] = [];
  for (const count of [1, o.masters.length]) {
    const api = await spawnApp({ ...o.env, ROLES: 'api', PORT: String(o.port) }, 120_000);
    o.children.push(api);
    try {
      const couponId = await createBenchCoupon(api.url, o.config.jwt, 10_000_000, `Hot coupon, ${count} buckets`, count);
      // Users never seen before, enough that every request of the storm admits.
      const tokensFile = await writeTokensFile(o.config.jwt, 250_000, `hot-${count}`);
      await Promise.all(o.masters.map((m) => m.config('RESETSTAT')));
      const result = await load(`POST /coupons/{id}/issue, one hot coupon in ${count} bucket(s)`, `${api.url}/coupons/${couponId}/issue`,
        { method: 'POST', connections: o.connections, seconds: o.seconds, tokensFile, cpuOf: api.child.pid });
      const callsPerMaster = await Promise.all(o.masters.map(evalshaCalls));
      const layout = await buckets.layoutOf(couponId);
      const issuedPerBucket = layout
        ? await Promise.all(layout.shards.map(async (_, b) => Number(await o.runtime.redis.hget(keysOfBucket(layout, b).coupon, 'iss'))))
        : [Number(await o.runtime.redis.hget(couponKeys(couponId, o.config.admission.shards).coupon, 'iss'))];
      const mean = callsPerMaster.reduce((a, b) => a + b, 0) / callsPerMaster.length;
      const spreadPct = Math.round((Math.max(...callsPerMaster.map((c) => Math.abs(c - mean))) / mean) * 1000) / 10;
      runs.push({ buckets: count, load: result, callsPerMaster, issuedPerBucket, spreadPct });
    } finally {
      o.children.splice(o.children.indexOf(api), 1);
      await api.stop();
    }
  }
  return runs;
}
