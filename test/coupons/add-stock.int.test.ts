import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli, spawnApp } from '../support/app-process.ts';
import { flushEveryNode } from '../../src/redis/redis-client.ts';
import { eventually } from '../support/eventually.ts';
import { scrape } from '../support/prometheus-text.ts';
import { spec } from '../support/spec.ts';
import { tally } from '../support/tally.ts';

const stock = spec('stock added to a live coupon', () => Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '100000' } }));

stock('given bad input, a user, an unknown or a closed coupon, then a clear 4xx and the total is unchanged', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 5 });
  const admin = await harness.token('admin', 'admin');
  const add = (body: unknown, id = couponId, token = admin) => harness.request('POST', `/admin/coupons/${id}/stock`, { token, body });
  for (const body of [{ add: 0 }, { add: -1 }, { add: 1.5 }, { add: '3' }, {}, { add: 1, more: true }, { add: 10_000_000 }]) {
    const answer = await add(body);
    assert.equal([answer.status, answer.body.code], [400, 'VALIDATION_FAILED'], JSON.stringify(body));
    assert.is(answer.headers['content-type'], 'application/problem+json');
  }
  assert.equal([(await add({ add: 1 }, couponId, await harness.token('someone'))).status], [403]);
  assert.equal((await add({ add: 1 }, '01937a4e-0000-7000-8000-00000000dead')).body.code, 'COUPON_NOT_FOUND');
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.is(view.body.totalQuantity, 5, 'nothing was added');

  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin })).status, 200);
  assert.equal((await add({ add: 1 })).body.code, 'COUPON_CLOSED');
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated', 'CouponIssuanceClosed'], 'no event for a refused change');
});

stock('given an opening of 4,000 users for 100 coupons, when 100 more are added mid-burst, then exactly 200 are issued, numbered without a gap, and the log, the read models and the audit agree', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 100 });
  const admin = await harness.token('admin', 'admin');
  const tokens = await Promise.all(Array.from({ length: 4_000 }, (_, i) => harness.token(`opener-${i}`)));
  let won = 0;
  let added: Promise<{ status: number; body: Record<string, unknown> }> | undefined;
  const burst = tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token }).then((answer) => {
    // The change lands while thousands of requests are still in flight.
    if (answer.status === 201 && ++won === 50) added = harness.request('POST', `/admin/coupons/${couponId}/stock`, { token: admin, body: { add: 100 } });
    return answer;
  }));
  const answers = await Promise.all(burst);
  const change = await added!;
  assert.equal([change.status, change.body.totalQuantity, change.body.added], [200, 200, 100]);
  // Whatever the burst left, later askers take the rest: the total is reached exactly, never passed.
  const late = await Promise.all(Array.from({ length: 300 }, async (_, i) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(`late-${i}`) })));
  const issued = [...answers, ...late].filter((a) => a.status === 201);
  assert.is(issued.length, 200, `issued equals the final quantity: ${JSON.stringify(tally([...answers, ...late]))}`);
  assert.equal(issued.map((a) => Number(String(a.body.issuedCouponId).split('.')[1])).sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.ok([...answers, ...late].every((a) => a.status === 201 || a.body.code === 'SOLD_OUT'), JSON.stringify(tally([...answers, ...late])));

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  assert.is(new Set(events.filter((e) => e.type === 'CouponIssued').map((e) => e.eventId)).size, 200);
  assert.equal(events.filter((e) => e.type === 'CouponStockAdded').map((e) => e.data), [{ add: 100, totalQuantity: 200 }]);
  await harness.projected();
  const row = await harness.runtime.db.selectFrom('coupon').select(['total_quantity', 'issued_count', 'definition']).where('id', '=', couponId).executeTakeFirstOrThrow();
  assert.equal([row.total_quantity, row.issued_count, (JSON.parse(row.definition ?? 'null') as { totalQuantity: number }).totalQuantity], [200, 200, 200]);
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

stock('given a sold-out coupon answered from memory by two API processes, when stock is added, then both admit again at once, exactly the added number', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 3 });
  const other = await spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn', USER_LIMIT: '100000' });
  try {
    const ask = async (url: string, user: string) => {
      const res = await fetch(`${url}/coupons/${couponId}/issue`, { method: 'POST', headers: { authorization: `Bearer ${await harness.token(user)}` } });
      return { status: res.status, body: (await res.json()) as { code?: string } };
    };
    assert.equal(tally(await Promise.all(Array.from({ length: 10 }, (_, i) => ask(harness.api.url, `first-${i}`)))), { 201: 3, '409 SOLD_OUT': 7 });
    let probe = 0;
    for (const url of [harness.api.url, other.url]) {
      await eventually(`${url} answering from memory`, async () => {
        await ask(url, `probe-${probe++}`);
        return (await scrape(url)).value('admission_answers_from_memory_total');
      }, (n) => n > 0, { timeoutMs: 10_000, everyMs: 50 });
    }
    const change = await harness.request('POST', `/admin/coupons/${couponId}/stock`, { token: await harness.token('admin', 'admin'), body: { add: 2 } });
    assert.is(change.status, 200);
    // The other process hears of it by pub/sub; until then it may still say SOLD_OUT, never 201 past the total.
    const fromOther = await eventually('the other process to admit again', () => ask(other.url, `again-${probe++}`), (a) => a.status === 201, { timeoutMs: 5_000, everyMs: 10 });
    assert.is(fromOther.status, 201);
    const rest = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(i % 2 ? other.url : harness.api.url, `rest-${i}`)));
    assert.equal(tally(rest), { 201: 1, '409 SOLD_OUT': 19 }, 'one left after the other process took one');
  } finally {
    await other.stop();
  }
});

stock('given stock added and Redis then losing everything, when admission state is restored, then the new total holds: exactly the rest is admitted', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 2 });
  const ask = async (user: string) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
  assert.equal(tally(await Promise.all(['r-1', 'r-2', 'r-3'].map(ask))), { 201: 2, '409 SOLD_OUT': 1 });
  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/stock`, { token: await harness.token('admin', 'admin'), body: { add: 3 } })).status, 200);
  assert.is((await ask('r-4')).status, 201);
  await harness.drained(couponId);
  await harness.projected();
  // Restored from the read models at their checkpoints and the log after them, on every API process.
  await flushEveryNode(harness.runtime.redis);
  const { code, output } = await runCli('restore-admission');
  assert.is(code, 0, output);
  const view = await harness.request('GET', `/coupons/${couponId}`, { token: await harness.token('r-1') });
  assert.equal([view.body.totalQuantity, view.body.remainingQuantity], [5, 2]);
  assert.equal(tally(await Promise.all(Array.from({ length: 10 }, (_, i) => ask(`after-${i}`)))), { 201: 2, '409 SOLD_OUT': 8 });
});

stock.run();
