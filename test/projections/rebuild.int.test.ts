import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const rebuild = spec('rebuilding the read models from the log', async () => (harness = await Harness.start({ relay: true, projector: true })));

const tables = async () =>
  (await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()`.execute(harness.runtime.db)).rows.map((r) => r.name);

rebuild('a rebuild while issue traffic flows swaps in tables equal to the log, and the API answers throughout', async () => {
  const coupons = await Promise.all([1, 2].map(() => harness.createCoupon({ totalQuantity: 100_000 })));
  const statuses = new Map<number, number>();
  let stop = false;
  let n = 0;
  const load = (async () => {
    while (!stop) {
      await Promise.all(coupons.map(async (couponId) => {
        const token = await harness.token(`rebuild-${n++}`);
        const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
        statuses.set(issued.status, (statuses.get(issued.status) ?? 0) + 1);
        const mine = await harness.request('GET', '/me/coupons', { token });
        statuses.set(mine.status, (statuses.get(mine.status) ?? 0) + 1);
      }));
    }
  })();
  await sleep(500);
  const { code, output } = await runCli('projections', ['rebuild']);
  stop = true;
  await load;
  assert.is(code, 0, output);
  assert.match(output, /coupon\+issued_coupon\+coupon_history: \d+ events in .* -> coupon, coupon_bucket, issued_coupon, coupon_event_range \(swapped in\)/);
  assert.match(output, /█+.*%.*ev\/s.*ETA/, 'a progress bar with rate and ETA');
  assert.equal([...statuses.keys()].sort(), [200, 201], `the API answered every request: ${JSON.stringify([...statuses])}`);

  for (const couponId of coupons) await harness.drained(couponId);
  await harness.projected();
  for (const couponId of coupons) {
    const report = await harness.audit(couponId);
    assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
  }
  const left = await tables();
  assert.equal(left.filter((t) => /__(rebuild|old)$/.test(t)), [], 'no shadow or old table is left');
  const checkpoints = await harness.runtime.db.selectFrom('projection_checkpoint').select('projection').distinct().execute();
  const names = checkpoints.map((c) => c.projection);
  assert.ok(names.includes('coupon') && names.includes('issued_coupon'));
  assert.equal(names.filter((n) => n.includes('@')), [], 'the shadow checkpoints became the live ones');
});

rebuild('as of a timestamp, it builds side tables of the past and leaves the live ones alone', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 20 });
  const issue = (users: string[]) => Promise.all(users.map(async (u) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(u) })));
  await issue(['past-1', 'past-2', 'past-3']);
  await sleep(50);
  const asOf = new Date();
  await sleep(50);
  await issue(['later-1', 'later-2']);
  await harness.drained(couponId);
  await harness.projected();

  const { code, output } = await runCli('projections', ['rebuild', 'coupon', '--as-of', asOf.toISOString()]);
  assert.is(code, 0, output);
  assert.match(output, /coupon__asof/);
  const past = await sql<{ issued_count: number }>`SELECT issued_count FROM coupon__asof WHERE id = ${couponId}`.execute(harness.runtime.db);
  assert.is(past.rows[0]?.issued_count, 3, 'the past as it was');
  const now = await harness.runtime.db.selectFrom('coupon').select('issued_count').where('id', '=', couponId).executeTakeFirstOrThrow();
  assert.is(now.issued_count, 5, 'the live table is untouched');
  await sql`DROP TABLE coupon__asof`.execute(harness.runtime.db);
  await harness.runtime.db.deleteFrom('projection_checkpoint').where('projection', '=', 'coupon@asof').execute();
});

rebuild.run();
