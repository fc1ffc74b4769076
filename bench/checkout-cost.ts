/**
 * `npm run bench:checkout-cost`: what each checkout decision costs Redis, beside a bare HINCRBY in the same run. A
 * private redis-server takes, for 5,000 holders (50 in flight): a plain use; on a coupon with a budget, a dry run of
 * a use, a use granting money and its cancellation; a hold, a use confirming it, and a hold and its release.
 * `INFO commandstats` between the phases gives each script's `usec_per_call`. Printed as a table and a closing line.
 */
import '../src/runtime/pinned-node.ts';
import { Redis } from 'ioredis';
import { AdmissionStore } from '../src/coupons/admission/admission-store.ts';
import { internalRequest } from '../src/idempotency/admission-request.ts';
import { uuidv7 } from '../src/ids/ids.ts';
import { commandStats, privateRedis } from './script-cost.ts';

const HOLDERS = Number(process.env.BENCH_CHECKOUT_HOLDERS ?? 5_000);
const IN_FLIGHT = 50;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function inFlight(run: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < HOLDERS) await run(next++);
  }));
}

/** A coupon issued to HOLDERS users; its id and their sequences. */
async function issued(store: AdmissionStore, money: Record<string, unknown>): Promise<{ couponId: string; sequences: number[] }> {
  const couponId = uuidv7();
  const now = Date.now();
  await store.create(couponId, uuidv7(), {
    name: 'Checkout cost', totalQuantity: HOLDERS, discount: { type: 'PERCENT', value: 10 }, ...money,
    issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
    validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
  }, {}, internalRequest());
  const sequences: number[] = [];
  await inFlight(async (i) => {
    const r = await store.issue(couponId, `holder-${i}`, uuidv7(), {}, internalRequest());
    if (r.outcome !== 'ISSUED') throw new Error(`issue ${i}: ${r.outcome}`);
    sequences[i] = Number(r.issuedCouponId.split('.')[1]);
  });
  return { couponId, sequences };
}

const expect = (what: string, outcome: string, wanted: string) => {
  if (outcome !== wanted) throw new Error(`${what}: ${outcome}, expected ${wanted}`);
};

if (import.meta.main) {
  const server = await privateRedis();
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const store = new AdmissionStore(redis, { shards: 1, retryMs: 5_000, outboxMaxEntries: 100_000_000 });
  const rows: [string, number][] = [];
  const phase = async (name: string, run: (i: number) => Promise<void>) => {
    await redis.config('RESETSTAT');
    await inFlight(run);
    const stats = await commandStats(redis);
    const scripts = [stats.get('evalsha'), stats.get('eval')].filter((s) => s !== undefined);
    rows.push([name, scripts.reduce((n, s) => n + s.usec, 0) / scripts.reduce((n, s) => n + s.calls, 0)]);
  };
  try {
    const plain = await issued(store, {});
    const budgeted = await issued(store, { currency: 'EUR', budget: { amount: 1_000_000 }, maxDiscountPerOrder: 50 });
    const held = await issued(store, {});
    const released = await issued(store, {});
    const order = { totalMinor: 12_345, currency: 'EUR' };
    await phase('use', async (i) => expect('use', (await store.use(plain.couponId, plain.sequences[i]!, `holder-${i}`, uuidv7(), `o-${i}`, {}, internalRequest())).outcome, 'USED'));
    await phase('use, dry run (money)', async (i) => expect('dry run', (await store.use(budgeted.couponId, budgeted.sequences[i]!, `holder-${i}`, uuidv7(), `o-${i}`, {}, { ...internalRequest(), dryRun: true }, order)).outcome, 'WOULD_USE'));
    await phase('use granting money from a budget', async (i) => expect('money use', (await store.use(budgeted.couponId, budgeted.sequences[i]!, `holder-${i}`, uuidv7(), `o-${i}`, {}, internalRequest(), order)).outcome, 'USED'));
    await phase('cancel-use giving it back', async (i) => expect('cancel', (await store.cancelUse(budgeted.couponId, budgeted.sequences[i]!, `o-${i}`, uuidv7(), {}, internalRequest())).outcome, 'USE_CANCELLED'));
    await phase('hold', async (i) => expect('hold', (await store.hold(held.couponId, { sequence: held.sequences[i]!, userId: `holder-${i}`, orderId: `o-${i}`, ttlMs: 600_000 }, {}, internalRequest())).outcome, 'HELD'));
    await phase('use confirming the hold', async (i) => expect('confirm', (await store.use(held.couponId, held.sequences[i]!, `holder-${i}`, uuidv7(), `o-${i}`, {}, internalRequest())).outcome, 'USED'));
    for (let i = 0; i < HOLDERS; i++) await store.hold(released.couponId, { sequence: released.sequences[i]!, userId: `holder-${i}`, orderId: `o-${i}`, ttlMs: 600_000 }, {}, internalRequest());
    await phase('release', async (i) => expect('release', (await store.release(released.couponId, { sequence: released.sequences[i]!, orderId: `o-${i}` }, {}, internalRequest())).outcome, 'RELEASED'));
    await redis.config('RESETSTAT');
    await inFlight(() => redis.hincrby('checkout-cost-counter', 'n', 1));
    const hincrby = (await commandStats(redis)).get('hincrby')!;
    say(`\n${HOLDERS} holders per phase, ${IN_FLIGHT} in flight, a private redis-server (AOF every second)`);
    say('| decision | Redis µs per call |');
    say('|---|---:|');
    for (const [name, usec] of rows) say(`| ${name} | ${usec.toFixed(2)} |`);
    say(`| HINCRBY (baseline) | ${(hincrby.usec / hincrby.calls).toFixed(2)} |`);
    say(rows.map(([name, usec]) => `${name.replace(/[^a-z]+/gi, '_')}=${usec.toFixed(2)}`).join(' ') + ` hincrby=${(hincrby.usec / hincrby.calls).toFixed(2)}`);
  } finally {
    redis.disconnect();
    server.stop();
  }
  process.exit(0);
}
