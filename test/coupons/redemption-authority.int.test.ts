import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { assertLogRebuildsLiveRows } from '../support/replayed-rows.ts';
import { spec } from '../support/spec.ts';

const authority = spec('who may change a redemption: the holder uses, the order system and admins use on their behalf and cancel', () =>
  Harness.start({ relay: true, projector: true, notifier: true, env: { USER_LIMIT: '100000' } }));

/** A coupon with one holder per name, each issued one. */
async function issuedTo(harness: Harness, ...users: string[]): Promise<{ couponId: string; ids: Record<string, string>; tokens: Record<string, string> }> {
  const couponId = await harness.createCoupon({ totalQuantity: users.length });
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  for (const user of users) {
    tokens[user] = await harness.token(user);
    const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token: tokens[user] });
    assert.is(issued.status, 201, issued.text);
    ids[user] = issued.body.issuedCouponId as string;
  }
  return { couponId, ids, tokens };
}

authority('given a used coupon, when its holder or another user cancels the use, then 403 and the use stays in force', async (harness) => {
  const { couponId, ids, tokens } = await issuedTo(harness, 'ann');
  assert.is((await harness.request('POST', `/issued-coupons/${ids.ann}/use`, { token: tokens.ann, body: { orderId: 'order-A' } })).status, 200);
  for (const token of [tokens.ann!, await harness.token('mallory')]) {
    const answer = await harness.request('POST', `/issued-coupons/${ids.ann}/cancel-use`, { token, body: { orderId: 'order-A' } });
    assert.equal([answer.status, answer.body.code, answer.headers['content-type']], [403, 'FORBIDDEN', 'application/problem+json']);
  }
  const reuse = await harness.request('POST', `/issued-coupons/${ids.ann}/use`, { token: tokens.ann, body: { orderId: 'order-B' } });
  assert.equal(reuse.body.code, 'ALREADY_USED', 'no un-redeem loop: the discount stays taken');
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated', 'CouponIssued', 'CouponUsed']);
});

authority('given a service token, when it uses a coupon, then it must name the holder, and only the holder\'s coupon is used', async (harness) => {
  const { couponId, ids, tokens } = await issuedTo(harness, 'ann', 'bob');
  const orders = await harness.token('orders', 'service');
  const use = (id: string, token: string, body: object) => harness.request('POST', `/issued-coupons/${id}/use`, { token, body });

  const unnamed = await use(ids.ann!, orders, { orderId: 'order-1' });
  assert.equal([unnamed.status, unnamed.body.code, (unnamed.body.errors as { path: string }[])[0]!.path], [400, 'VALIDATION_FAILED', 'userId']);
  const wrongHolder = await use(ids.ann!, orders, { orderId: 'order-1', userId: 'bob' });
  assert.equal([wrongHolder.status, wrongHolder.body.code], [404, 'ISSUED_COUPON_NOT_FOUND'], 'ann\'s coupon is never applied to bob\'s order');
  for (const userId of ['bob', 'ann']) {
    const forSomeone = await use(ids.ann!, tokens.ann!, { orderId: 'order-1', userId });
    assert.equal([forSomeone.status, forSomeone.body.code], [403, 'FORBIDDEN'], `a user acting for ${userId}`);
  }
  const used = await use(ids.ann!, orders, { orderId: 'order-1', userId: 'ann' });
  assert.equal([used.status, used.body.status], [200, 'USED']);
  const issuedToService = await harness.request('POST', `/coupons/${couponId}/issue`, { token: orders });
  assert.equal([issuedToService.status, issuedToService.body.code], [403, 'FORBIDDEN'], 'a service is issued nothing');
  const byAdmin = await use(ids.bob!, await harness.token('root', 'admin'), { userId: 'bob' });
  assert.equal([byAdmin.status, byAdmin.body.status], [200, 'USED']);

  await harness.drained(couponId);
  const uses = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponUsed');
  assert.equal(uses.map((e) => [e.data.issuedCouponId, e.data.userId, e.meta.actor]), [[ids.ann, 'ann', 'orders'], [ids.bob, 'bob', 'root']]);
});

authority('given revoke-unused has run, when the order system cancels a use, then the coupon is REVOKED: not usable again, the same answer on a repeat, and the log, rows, notices, a rebuild, a restore and the audit agree', async (harness) => {
  const { couponId, ids, tokens } = await issuedTo(harness, 'ann', 'bob');
  const orders = await harness.token('orders', 'service');
  const admin = await harness.token('root', 'admin');
  assert.is((await harness.request('POST', `/issued-coupons/${ids.ann}/use`, { token: tokens.ann, body: { orderId: 'order-A' } })).status, 200);
  const revoked = await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin });
  assert.equal(revoked.body.revokedCount, 1, 'bob\'s unused coupon');

  const cancel = () => harness.request('POST', `/issued-coupons/${ids.ann}/cancel-use`, { token: orders, body: { orderId: 'order-A' } });
  const first = await cancel();
  assert.equal([first.status, first.body], [200, { issuedCouponId: ids.ann, status: 'REVOKED' }]);
  assert.equal((await cancel()).body, first.body, 'asked again, the same answer');
  const reuse = await harness.request('POST', `/issued-coupons/${ids.ann}/use`, { token: tokens.ann, body: { orderId: 'order-B' } });
  assert.equal([reuse.status, reuse.body.code], [409, 'COUPON_REVOKED']);

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  const cancellation = events.find((e) => e.type === 'CouponUseCancelled');
  assert.equal(cancellation?.data, { issuedCouponId: ids.ann, userId: 'ann', orderId: 'order-A', useGeneration: 1, cancelSequence: 1, revokedCount: 2 });
  await harness.projected(60_000, ['coupon', 'issued_coupon', 'notification']);
  const rows = await harness.runtime.db.selectFrom('issued_coupon').select(['id', 'status']).where('coupon_id', '=', couponId).orderBy('id').execute();
  assert.equal(rows.map((r) => r.status), ['REVOKED', 'REVOKED']);
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.equal([view.body.usedCount, view.body.revokedCount], [0, 2]);
  const notices = await harness.runtime.db.selectFrom('notification').select(['type']).where('issued_coupon_id', '=', ids.ann!).orderBy('type').execute();
  assert.equal(notices.map((n) => n.type), ['COUPON_REVOKED', 'COUPON_USED']);
  await assertLogRebuildsLiveRows(harness, couponId);

  // Admission state lost and restored from the log on the next request: still revoked.
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used);
  assert.equal((await harness.request('POST', `/issued-coupons/${ids.ann}/use`, { token: tokens.ann, body: {} })).body.code, 'COUPON_REVOKED');
});

authority('given revoke-unused revoked nothing (every coupon was in use), when a use is cancelled, then that coupon is REVOKED too', async (harness) => {
  const { couponId, ids, tokens } = await issuedTo(harness, 'cat');
  const admin = await harness.token('root', 'admin');
  assert.is((await harness.request('POST', `/issued-coupons/${ids.cat}/use`, { token: tokens.cat, body: {} })).status, 200);
  assert.equal((await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin })).body.revokedCount, 0);
  const cancelled = await harness.request('POST', `/issued-coupons/${ids.cat}/cancel-use`, { token: admin, body: {} });
  assert.equal([cancelled.status, cancelled.body.status], [200, 'REVOKED']);
  assert.equal((await harness.request('POST', `/issued-coupons/${ids.cat}/use`, { token: tokens.cat, body: {} })).body.code, 'COUPON_REVOKED');
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type),
    ['CouponCreated', 'CouponIssued', 'CouponUsed', 'CouponIssuanceClosed', 'CouponsRevoked', 'CouponUseCancelled']);
  await harness.projected(60_000, ['coupon', 'issued_coupon']);
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

authority.run();
