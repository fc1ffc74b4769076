import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { scrape } from '../support/prometheus-text.ts';
import { spec } from '../support/spec.ts';
import { tally } from '../support/tally.ts';

const settled = spec('a sold-out coupon answered from memory', () => Harness.start({ relay: true, env: { USER_LIMIT: '100000' } }));

/** A coupon of 10 (in `buckets` stock buckets) sold out, then asked by 1,000 more users and its 10 winners. */
async function soldOutStorm(harness: Harness, buckets: number): Promise<void> {
  const couponId = await harness.createCoupon({ totalQuantity: 10, buckets });
  const ask = async (user: string, key?: string) =>
    harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user), headers: key ? { 'Idempotency-Key': key } : {} });
  const first = await Promise.all(Array.from({ length: 50 }, (_, i) => ask(`settle-${buckets}-${i}`, `first-${buckets}-${i}`)));
  assert.equal(tally(first), { 201: 10, '409 SOLD_OUT': 40 });
  const winners = first.flatMap((a, i) => (a.status === 201 ? [{ user: `settle-${buckets}-${i}`, key: `first-${buckets}-${i}`, id: a.body.issuedCouponId as string }] : []));

  // The process learns from a SOLD_OUT answer and loads the holders in the background.
  let probe = 0;
  const before = (await scrape(harness.api.url)).value('admission_answers_from_memory_total');
  await eventually('an answer given from memory', async () => {
    await ask(`probe-${buckets}-${probe++}`);
    return (await scrape(harness.api.url)).value('admission_answers_from_memory_total');
  }, (n) => n > before, { timeoutMs: 10_000, everyMs: 50 });

  const start = await scrape(harness.api.url);
  const later = await Promise.all(Array.from({ length: 1_000 }, (_, i) => ask(`late-${buckets}-${i}`)));
  const again = await Promise.all(winners.map((w) => ask(w.user)));
  const after = await scrape(harness.api.url);
  assert.equal(tally(later), { '409 SOLD_OUT': 1_000 });
  assert.equal(again.map((a) => [a.status, a.body.code, a.body.issuedCouponId]), winners.map((w) => [409, 'ALREADY_ISSUED', w.id]), 'each winner gets their own coupon');
  // A lease that lapsed (its renewal held up on a loaded machine) sends an asker to Redis: right, and rare.
  const toRedis = after.value('admission_duration_seconds_count', { decision: 'issue' }) - start.value('admission_duration_seconds_count', { decision: 'issue' });
  const fromMemory = after.value('admission_answers_from_memory_total') - start.value('admission_answers_from_memory_total');
  assert.is(toRedis + fromMemory, 1_010);
  assert.ok(toRedis <= 10, `${toRedis} of 1,010 decisions went to Redis`);
  assert.is(after.value('admission_outcomes_total', { decision: 'issue', code: 'SOLD_OUT' }) - start.value('admission_outcomes_total', { decision: 'issue', code: 'SOLD_OUT' }), 1_000,
    'the outcomes still count every answer');

  const replay = await ask(winners[0]!.user, winners[0]!.key);
  assert.is(replay.status, 201, 'a keyed retry gets its first outcome (from Redis)');
  assert.is(replay.headers['idempotent-replayed'], 'true');
  assert.is(replay.body.issuedCouponId, winners[0]!.id);

  const closed = await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: await harness.token('admin', 'admin') });
  assert.is(closed.status, 200);
  const refused = await ask(`after-close-${buckets}`);
  assert.equal([refused.status, refused.body.code], [409, 'COUPON_CLOSED'], 'the very next asker, not a remembered SOLD_OUT');
  const holder = await ask(winners[1]!.user);
  assert.equal([holder.body.code, holder.body.issuedCouponId], ['ALREADY_ISSUED', winners[1]!.id], 'a holder still learns which coupon they hold');
}

settled('given a coupon of 10 sold out, when 1,000 more users and the 10 winners ask, then the answers are those Redis would give (SOLD_OUT, ALREADY_ISSUED with their own coupons, a keyed retry replayed) and none of them costs a Redis call; once closed, COUPON_CLOSED', (harness) => soldOutStorm(harness, 1));

settled('given a coupon of 10 split into 3 stock buckets sold out, then the same: memory holds the holders of every bucket and answers as Redis would, without a Redis call', (harness) => soldOutStorm(harness, 3));

settled('given a sold-out coupon answered from memory, when its issue window ends, then askers get ISSUE_ENDED as the script answers, not a remembered SOLD_OUT', async (harness) => {
  const now = Date.now();
  const couponId = await harness.createCoupon({ totalQuantity: 2, issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 9_000).toISOString() });
  const ask = async (user: string) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
  assert.equal(tally(await Promise.all(['end-a', 'end-b', 'end-c'].map(ask))), { 201: 2, '409 SOLD_OUT': 1 });
  let probe = 0;
  const before = (await scrape(harness.api.url)).value('admission_answers_from_memory_total');
  await eventually('an answer from memory', async () => {
    await ask(`end-probe-${probe++}`);
    return (await scrape(harness.api.url)).value('admission_answers_from_memory_total');
  }, (n) => n > before, { timeoutMs: 3_000, everyMs: 20 });
  await new Promise((r) => setTimeout(r, Math.max(0, now + 9_500 - Date.now())));
  const late = await ask('end-late');
  assert.equal([late.status, late.body.code], [409, 'ISSUE_ENDED']);
});

settled('given another API process answering a sold-out coupon from memory, when this one closes it, then that one learns it by pub/sub and answers COUPON_CLOSED', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 3 });
  const other = await spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn', USER_LIMIT: '100000' });
  try {
    const askOther = async (user: string) => {
      const res = await fetch(`${other.url}/coupons/${couponId}/issue`, { method: 'POST', headers: { authorization: `Bearer ${await harness.token(user)}` } });
      return { status: res.status, code: ((await res.json()) as { code?: string }).code };
    };
    assert.equal(tally((await Promise.all(Array.from({ length: 10 }, (_, i) => askOther(`other-${i}`)))).map((a) => ({ status: a.status, body: { code: a.code } }))),
      { 201: 3, '409 SOLD_OUT': 7 });
    let probe = 0;
    await eventually('the other process to answer from memory', async () => {
      await askOther(`other-probe-${probe++}`);
      return (await scrape(other.url)).value('admission_answers_from_memory_total');
    }, (n) => n > 0, { timeoutMs: 10_000, everyMs: 50 });
    assert.is((await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: await harness.token('admin', 'admin') })).status, 200);
    const told = await eventually('the other process to say closed', () => askOther(`other-probe-${probe++}`), (a) => a.code === 'COUPON_CLOSED',
      { timeoutMs: 5_000, everyMs: 10 });
    assert.is(told.status, 409);
  } finally {
    await other.stop();
  }
});

settled.run();
