import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { internalRequest } from '../../src/idempotency/admission-request.ts';
import { AdmissionStore } from '../../src/coupons/admission/admission-store.ts';
import { uuidv7 } from '../../src/ids/ids.ts';
import { Harness } from '../support/api-harness.ts';
import { replayedAndLiveRows } from '../support/replayed-rows.ts';
import { spec } from '../support/spec.ts';
import { tally } from '../support/tally.ts';

const revoke = spec('unused coupons revoked', () => Harness.start({ relay: true, projector: true, notifier: true, env: { USER_LIMIT: '100000' } }));

revoke('given a user, or an unknown coupon, then 403 and 404, and nothing changes', async (harness) => {
  const couponId = await harness.createCoupon();
  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: await harness.token('someone') })).status, 403);
  const unknown = await harness.request('POST', '/admin/coupons/01937a4e-0000-7000-8000-00000000dead/revoke-unused', { token: await harness.token('admin', 'admin') });
  assert.equal([unknown.status, unknown.body.code], [404, 'COUPON_NOT_FOUND']);
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated']);
});

revoke('given 1,000 holders, when revoke-unused races 500 concurrent uses, then each coupon ends USED or REVOKED, never both, and the log, read models, notices, a rebuild and the audit say the same', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  const admin = await harness.token('admin', 'admin');
  const holders = await Promise.all(Array.from({ length: 1_000 }, async (_, i) => {
    const token = await harness.token(`holder-${i}`);
    const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
    assert.is(issued.status, 201, issued.text);
    return { token, id: issued.body.issuedCouponId as string };
  }));
  const use = ({ token, id }: { token: string; id: string }) => harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: `order-${id}` } });
  // 20 used before the revoke (they must stay USED), then the revoke and 500 uses at once (each decided before or
  // after the chunk holding its coupon: the split is the machine's), then 20 more after it answered (all refused).
  const before = await Promise.all(holders.slice(0, 20).map(use));
  assert.equal(tally(before), { 200: 20 });
  const revoked = harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin });
  const racing = await Promise.all(holders.slice(20, 520).map(use));
  const revokeAnswer = await revoked;
  const after = await Promise.all(holders.slice(520, 540).map(use));
  assert.equal(tally(after), { '409 COUPON_REVOKED': 20 });
  assert.ok(racing.every((u) => u.status === 200 || u.body.code === 'COUPON_REVOKED'), JSON.stringify(tally(racing)));
  const used = 20 + racing.filter((u) => u.status === 200).length;
  assert.equal([revokeAnswer.status, revokeAnswer.body], [200, { id: couponId, status: 'CLOSED', revokedCount: 1_000 - used }], JSON.stringify(tally(racing)));

  const again = await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin });
  assert.equal(again.body, revokeAnswer.body, 'a second run revokes nothing more and answers the same');
  assert.equal((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('newcomer') })).body.code, 'COUPON_CLOSED');
  const late = holders[999]!;
  assert.equal((await harness.request('POST', `/issued-coupons/${late.id}/use`, { token: late.token, body: {} })).body.code, 'COUPON_REVOKED');

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  const usedIds = events.flatMap((e) => (e.type === 'CouponUsed' ? [e.data.issuedCouponId] : []));
  const revokedIds = events.flatMap((e) => (e.type === 'CouponsRevoked' ? e.data.revoked.map((r) => r.issuedCouponId) : []));
  assert.is(usedIds.length, used);
  assert.is(new Set(revokedIds).size, revokedIds.length, 'no coupon revoked twice');
  assert.equal([...usedIds, ...revokedIds].sort(), holders.map((h) => h.id).sort(), 'every coupon used or revoked, never both');

  await harness.projected(60_000, ['coupon', 'issued_coupon', 'notification']);
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.equal([view.body.usedCount, view.body.revokedCount, view.body.issuedCount], [used, 1_000 - used, 1_000], 'stock is not given back');
  const statuses = await harness.runtime.db.selectFrom('issued_coupon').select(({ fn }) => ['status', fn.countAll<number>().as('n')]).where('coupon_id', '=', couponId).groupBy('status').execute();
  assert.equal(Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])), { USED: used, REVOKED: 1_000 - used });
  const mine = await harness.request<{ items: { status: string }[] }>('GET', '/me/coupons', { token: late.token });
  assert.equal(mine.body.items.map((i) => i.status), ['REVOKED']);
  const notices = await harness.runtime.db.selectFrom('notification').select(({ fn }) => fn.countAll<number>().as('n')).where('coupon_id', '=', couponId).where('type', '=', 'COUPON_REVOKED').executeTakeFirstOrThrow();
  assert.is(Number(notices.n), 1_000 - used, 'each revoked holder has a notice');

  const { replayed, live } = await replayedAndLiveRows(harness, couponId, 50);
  assert.equal(replayed, live);
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

revoke('given 100,000 holders, then one run revokes them in chunks of at most 1,000, each one decision and one event', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 100_000 });
  const store = new AdmissionStore(harness.runtime.redis, harness.runtime.config.admission);
  for (let from = 0; from < 100_000; from += 5_000) {
    const issued = await Promise.all(Array.from({ length: 5_000 }, (_, i) => store.issue(couponId, `bulk-${from + i}`, uuidv7(), {}, internalRequest())));
    assert.ok(issued.every((r) => r.outcome === 'ISSUED'));
    // The relay keeps up, so the outbox stays under its bound (other test files share this Redis).
    await harness.drained(couponId, 120_000);
  }
  const started = Date.now();
  const answer = await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: await harness.token('admin', 'admin') });
  const took = Date.now() - started;
  assert.equal([answer.status, answer.body.revokedCount], [200, 100_000]);
  await harness.drained(couponId, 120_000);
  const chunks = (await harness.eventsOf(couponId)).flatMap((e) => (e.type === 'CouponsRevoked' ? [e.data.revoked.length] : []));
  assert.ok(chunks.length >= 100 && chunks.every((n) => n <= 1_000), `${chunks.length} events`);
  assert.is(chunks.reduce((a, b) => a + b, 0), 100_000);
  console.log(`revoked 100,000 holders in ${took} ms, ${chunks.length} events`);
});

revoke.run();
