import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { parseRedemption } from '../../src/coupons/admission/redemption-value.ts';
import { Harness } from '../support/api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { assertLogRebuildsLiveRows } from '../support/replayed-rows.ts';
import { spec } from '../support/spec.ts';
import { tally } from '../support/tally.ts';

const cancelUse = spec('a use cancelled with its order', () => Harness.start({ relay: true, projector: true, notifier: true, env: { USER_LIMIT: '100000' } }));

/** A coupon issued to `user`, ready to use. */
async function held(harness: Harness, user: string, overrides: Record<string, unknown> = {}): Promise<{ couponId: string; id: string; token: string }> {
  const couponId = await harness.createCoupon({ totalQuantity: 5, ...overrides });
  const token = await harness.token(user);
  const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  assert.is(issued.status, 201, issued.text);
  return { couponId, id: issued.body.issuedCouponId as string, token };
}

cancelUse('given bad input, an unknown coupon or an unused one, then a clear 4xx and no event', async (harness) => {
  const { couponId, id } = await held(harness, 'bad-input');
  const orders = await harness.token('orders', 'service');
  const cancel = (body: unknown, path = id, as = orders) => harness.request('POST', `/issued-coupons/${path}/cancel-use`, { token: as, body });
  for (const body of [{ orderId: 5 }, { orderId: '' }, { orderId: 'x'.repeat(101) }, { orderId: 'o', more: 1 }, []]) {
    const answer = await cancel(body);
    assert.equal([answer.status, answer.body.code, answer.headers['content-type']], [400, 'VALIDATION_FAILED', 'application/problem+json'], JSON.stringify(body));
  }
  assert.equal((await cancel({ orderId: 'o-1' })).body.code, 'NOT_USED');
  assert.equal((await cancel({ orderId: 'o-1' }, 'not-an-id')).body.code, 'ISSUED_COUPON_NOT_FOUND');
  assert.equal((await cancel({ orderId: 'o-1' }, `${couponId}.00000009`)).body.code, 'ISSUED_COUPON_NOT_FOUND');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { body: {} })).status, 401);
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated', 'CouponIssued'], 'no event for a refused cancellation');
});

cancelUse('given use, cancel by the order system, use again, then each answer, the log, the counts, the notices, a rebuild, a restore and the audit agree', async (harness) => {
  const { couponId, id, token } = await held(harness, 'ann');
  const admin = await harness.token('admin', 'admin');
  const orders = await harness.token('orders', 'service');
  const use = (orderId: string) => harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId } });
  const cancel = (orderId: string, as = orders) => harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: as, body: { orderId } });
  // The admin view reads the read model: it follows within the projection's lag.
  const usedCount = async (expected: number) => eventually(`usedCount ${expected}`, async () => (await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin })).body.usedCount,
    (n) => n === expected, { timeoutMs: 10_000, everyMs: 20 });

  assert.is((await use('order-1')).status, 200);
  await usedCount(1);
  const mismatch = await cancel('order-2');
  assert.equal([mismatch.status, mismatch.body.code], [409, 'ORDER_MISMATCH']);
  const first = await cancel('order-1');
  assert.equal([first.status, first.body], [200, { issuedCouponId: id, status: 'ISSUED' }]);
  const again = await cancel('order-1');
  assert.equal([again.status, again.body], [200, first.body], 'the same cancellation, the same answer');
  await usedCount(0);

  assert.is((await use('order-3')).status, 200);
  assert.equal((await use('order-3')).body.code, 'ALREADY_USED');
  const byAdmin = await cancel('order-3', admin);
  assert.equal([byAdmin.status, byAdmin.body.status], [200, 'ISSUED'], 'an admin cancels any holder\'s use');
  assert.is((await use('order-4')).status, 200);
  await usedCount(1);

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  assert.equal(events.filter((e) => e.type === 'CouponUsed' || e.type === 'CouponUseCancelled').map((e) => [e.type, e.data.orderId, e.data.useGeneration]), [
    ['CouponUsed', 'order-1', 1], ['CouponUseCancelled', 'order-1', 1], ['CouponUsed', 'order-3', 2], ['CouponUseCancelled', 'order-3', 2], ['CouponUsed', 'order-4', 3],
  ]);
  assert.equal(events.filter((e) => e.type === 'CouponUseCancelled').map((e) => [e.meta.actor, e.data.userId]), [['orders', 'ann'], ['admin', 'ann']]);

  await harness.projected(60_000, ['coupon', 'issued_coupon', 'notification']);
  const mine = await harness.request('GET', '/me/coupons', { token });
  assert.equal(mine.body.items, [{ ...(mine.body.items as object[])[0], issuedCouponId: id, status: 'USED' }]);
  const row = await harness.runtime.db.selectFrom('issued_coupon').select(['status', 'order_id', 'use_generation']).where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { status: 'USED', order_id: 'order-4', use_generation: 3 });
  const notices = await harness.runtime.db.selectFrom('notification').select(['type', 'data']).where('issued_coupon_id', '=', id).execute();
  assert.equal(notices.map((n) => [n.type, JSON.parse(n.data).orderId]), [['COUPON_USED', 'order-1']], 'one usage notice: the first use');

  await assertLogRebuildsLiveRows(harness, couponId);

  // Admission state lost and restored from the log on the next request: the same, and the rules hold.
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  const redisState = async () => ({
    counts: (await harness.runtime.redis.hmget(k.coupon, 'iss', 'usd', 'cnc', 'rvk')).map((n) => Number(n ?? 0)),
    used: Object.entries(await harness.runtime.redis.hgetall(k.used)).map(([s, v]) => [s, { ...parseRedemption(v), at: undefined }]),
  });
  const before = await redisState();
  await harness.runtime.redis.del(k.coupon, k.holders, k.used);
  assert.equal((await use('order-5')).body.code, 'ALREADY_USED');
  assert.equal(await redisState(), before);
  assert.equal([(await cancel('order-4')).status, (await use('order-5')).status], [200, 200]);
});

cancelUse('given 200 concurrent cancellations of one use and then 200 concurrent uses, then one cancellation and one use take effect', async (harness) => {
  const { couponId, id, token } = await held(harness, 'racer');
  const orders = await harness.token('orders', 'service');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'o-1' } })).status, 200);
  const cancels = await Promise.all(Array.from({ length: 200 }, () => harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId: 'o-1' } })));
  assert.equal(tally(cancels), { 200: 200 });
  const uses = await Promise.all(Array.from({ length: 200 }, (_, i) => harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: `o-${i + 2}` } })));
  assert.equal(tally(uses), { 200: 1, '409 ALREADY_USED': 199 });
  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  assert.equal(events.map((e) => e.type), ['CouponCreated', 'CouponIssued', 'CouponUsed', 'CouponUseCancelled', 'CouponUsed']);
});

cancelUse('given a use cancelled after the validity ended, then the coupon is EXPIRED and cannot be used again', async (harness) => {
  const now = Date.now();
  const { id, token } = await held(harness, 'late', { issueEndAt: new Date(now + 1_500).toISOString(), validUntil: new Date(now + 2_500).toISOString() });
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'o-1' } })).status, 200);
  await sleep(Math.max(0, now + 2_600 - Date.now()));
  const cancelled = await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: await harness.token('orders', 'service'), body: { orderId: 'o-1' } });
  assert.equal([cancelled.status, cancelled.body.status], [200, 'EXPIRED']);
  assert.equal((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'o-2' } })).body.code, 'COUPON_EXPIRED');
  const issuance = await eventually('the issuance view', () => harness.request('GET', `/coupons/${id.split('.')[0]}/issuance`, { token }), (a) => a.status === 200);
  assert.equal(issuance.body.status, 'EXPIRED');
});

cancelUse('given a use Redis recorded before cancellations (a bare instant: no holder, no order), then the order the log names cancels it and no other, and the audit agrees', async (harness) => {
  const { couponId, id, token } = await held(harness, 'legacy');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'order-A' } })).status, 200);
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  const usedAt = parseRedemption((await harness.runtime.redis.hget(k.used, '1'))!);
  assert.is(usedAt.state, 'USED');
  // What the admission script wrote before cancellations existed: the instant alone.
  await harness.runtime.redis.hset(k.used, '1', String((usedAt as { at: number }).at));
  await harness.drained(couponId);
  const again = await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: {} });
  assert.equal(again.body.code, 'ALREADY_USED', 'it still reads as used');
  const orders = await harness.token('orders', 'service');
  const cancel = (body: object) => harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body });
  const none = await cancel({});
  assert.equal([none.status, none.body.code], [409, 'ORDER_MISMATCH'], 'the use named order-A: a cancellation naming none is not it');
  const right = await cancel({ orderId: 'order-A' });
  assert.equal([right.status, right.body.status], [200, 'ISSUED']);
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'order-B' } })).status, 200);
  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  assert.equal(events.filter((e) => e.type === 'CouponUseCancelled' || e.type === 'CouponUsed').map((e) => [e.type, e.data.useGeneration, e.data.userId, e.data.orderId]),
    [['CouponUsed', 1, 'legacy', 'order-A'], ['CouponUseCancelled', 1, 'legacy', 'order-A'], ['CouponUsed', 2, 'legacy', 'order-B']]);
  await harness.projected(60_000, ['coupon', 'issued_coupon']);
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

cancelUse('given a cancelled use revoked by the version before revocations kept its order, then the same cancellation answers 200 REVOKED, as the log says', async (harness) => {
  const { couponId, id, token } = await held(harness, 'old-revoke');
  const orders = await harness.token('orders', 'service');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'order-A' } })).status, 200);
  assert.is((await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId: 'order-A' } })).status, 200);
  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: await harness.token('root', 'admin') })).body.revokedCount, 1);
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  const { o: _order, ...withoutOrder } = JSON.parse((await harness.runtime.redis.hget(k.used, '1'))!) as Record<string, unknown>;
  await harness.runtime.redis.hset(k.used, '1', JSON.stringify(withoutOrder));
  await harness.drained(couponId);
  const again = await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId: 'order-A' } });
  assert.equal([again.status, again.body.status], [200, 'REVOKED']);
  assert.equal((await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId: 'order-B' } })).body.code, 'NOT_USED');
});

cancelUse.run();
