import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';
import { tally } from '../support/tally.ts';
import { openTestRuntime } from '../support/test-runtime.ts';
import { AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { startApi } from '../../src/roles/api-role.ts';
import { closeRuntime, logAndStores } from '../../src/runtime/runtime.ts';

/** A relay that moves ten entries per Kafka round trip: draining a backlog takes long enough to overlap a restore. */
let harness!: Harness;
const race = spec('restoring a coupon while the relay moves its outbox', async () =>
  (harness = await Harness.start({ projector: true, env: { RELAY_BATCH_SIZE: '10', RELAY_LINGER_MS: '5' } })));

race('keys lost while 600 admissions wait in the outbox and the relay drains them: restore gives exactly the log\'s state, and 2,000 askers get no second coupon and no extra one', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  await harness.drained(couponId);
  await harness.projected();
  await harness.stopRelay();

  const holders = Array.from({ length: 600 }, (_, i) => `first-${i}`);
  const tokens = new Map(await Promise.all(holders.map(async (u) => [u, await harness.token(u)] as const)));
  const first = new Map<string, string>();
  await Promise.all(holders.map(async (u) => {
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token: tokens.get(u) });
    first.set(u, String(answer.body.issuedCouponId));
  }));
  assert.ok((await harness.outboxLength(couponId)) >= 600, 'the 600 admissions wait in the outbox');

  // Redis loses the coupon's keys; the relay starts draining, and askers arrive at once.
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used);
  await harness.startRelay();
  const newcomers = Array.from({ length: 1_400 }, (_, i) => `later-${i}`);
  const [again, admitted] = await Promise.all([
    Promise.all(holders.map((u) => harness.request('POST', `/coupons/${couponId}/issue`, { token: tokens.get(u) }))),
    issueMany(harness, couponId, newcomers),
  ]);

  for (const [i, answer] of again.entries()) {
    assert.equal([answer.body.code, answer.body.issuedCouponId], ['ALREADY_ISSUED', first.get(holders[i]!)], `${holders[i]} keeps the coupon they had`);
  }
  assert.is(admitted, 400, 'exactly the 400 left were issued');
  await harness.drained(couponId);
  await harness.projected();
  const events = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued');
  assert.is(events.length, 1_000);
  assert.is(new Set(events.map((e) => (e.data as { userId: string }).userId)).size, 1_000, 'one coupon per user');
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

race('given two restores of one lost coupon, when the second is put in place after the first and after a cancellation and a re-use, then it changes nothing: no use goes back, no allow-list is emptied', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 5, eligibility: { allowList: true } });
  const admin = await harness.token('root', 'admin');
  assert.is((await harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, { token: admin, rawBody: 'ann\nbob\n', headers: { 'content-type': 'text/csv' } })).status, 200);
  const ann = await harness.token('ann');
  const id = String((await harness.request('POST', `/coupons/${couponId}/issue`, { token: ann })).body.issuedCouponId);
  const use = (orderId: string) => harness.request('POST', `/issued-coupons/${id}/use`, { token: ann, body: { orderId } });
  assert.is((await use('order-1')).status, 200);
  await harness.drained(couponId);

  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, ...k.allowLists);
  // Two processes restore it: the slower one read the log before the faster one put it back.
  const [first, second] = [new AdmissionRecovery(logAndStores(harness.runtime)), new AdmissionRecovery(logAndStores(harness.runtime))];
  const slow = await second.rebuild([couponId]);
  assert.equal(await first.restore([couponId]), [couponId]);
  const orders = await harness.token('orders', 'service');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId: 'order-1' } })).status, 200);
  assert.is((await use('order-2')).status, 200);
  assert.equal(await second.install(slow), [], 'the slower restore finds the coupon back and writes nothing');
  const inForce = await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId: 'order-2' } });
  assert.equal([inForce.status, inForce.body.status], [200, 'ISSUED'], 'the re-use for order-2 stays the use in force');
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('bob') })).status, 201, 'the allow-list is whole');
  assert.equal(await harness.runtime.redis.keys(`*:rs:${couponId}:*`), [], 'no restore leaves its own keys behind');
  await harness.drained(couponId);
  await harness.projected();
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

race('given a lost coupon another process put back first, then this process decides again instead of answering 404; two API processes asked at once answer every request', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  await harness.drained(couponId);
  await harness.projected();
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used);
  await new AdmissionRecovery(logAndStores(harness.runtime)).restore([couponId]);
  assert.is(await new AdmissionRecovery(logAndStores(harness.runtime)).recoverIfLost(couponId), true, 'it is there: decide again');
  assert.is(await new AdmissionRecovery(logAndStores(harness.runtime)).recoverIfLost('01937a4e-0000-7000-8000-00000000dead'), false, 'a coupon nobody knows stays unknown');

  const otherRuntime = await openTestRuntime({ PORT: '0' });
  const other = await startApi(otherRuntime);
  try {
    await harness.runtime.redis.del(k.coupon, k.holders, k.used);
    const asks = await Promise.all(Array.from({ length: 400 }, async (_, i) => {
      const base = i % 2 === 0 ? harness.api.url : other.url;
      const token = await harness.token(`asker-${i}`);
      const answer = await fetch(`${base}/coupons/${couponId}/issue`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      return answer.status;
    }));
    assert.equal(tally(asks.map((status) => ({ status, body: {} }))), { 201: 400 }, 'no asker is told the coupon does not exist');
  } finally {
    await other.stop();
    await closeRuntime(otherRuntime);
  }
});

race('given a coupon lost from Redis, when its allow-list is removed, then it is restored and the removal is made (204), not a 404', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 5, eligibility: { allowList: true } });
  await harness.drained(couponId);
  await harness.projected();
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, ...k.allowLists);
  const removed = await harness.request('DELETE', `/admin/coupons/${couponId}/allow-list`, { token: await harness.token('root', 'admin') });
  assert.is(removed.status, 204, removed.text);
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('anyone') })).status, 201);
});

race('given a lost coupon whose restore cannot be made (the read models name another log), then 503 DEPENDENCY_UNAVAILABLE to retry, not a 500; once it can, the retry is answered', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 5 });
  await harness.drained(couponId);
  await harness.projected();
  await harness.projector!.stop();
  const db = harness.runtime.db;
  const checkpoints = () => db.selectFrom('projection_checkpoint').select(['projection', 'partition_no', 'log_cluster_id']).where('topic', '=', harness.runtime.config.kafka.topic).execute();
  const kept = await checkpoints();
  await db.updateTable('projection_checkpoint').set({ log_cluster_id: 'another-cluster' }).where('topic', '=', harness.runtime.config.kafka.topic).execute();
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used);
  const token = await harness.token('retrier');
  const refused = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  assert.equal([refused.status, refused.body.code, refused.body.dependency, refused.headers['retry-after'] !== undefined], [503, 'DEPENDENCY_UNAVAILABLE', 'kafka', true]);
  for (const row of kept) {
    await db.updateTable('projection_checkpoint').set({ log_cluster_id: row.log_cluster_id }).where('projection', '=', row.projection).where('partition_no', '=', row.partition_no)
      .where('topic', '=', harness.runtime.config.kafka.topic).execute();
  }
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token })).status, 201);
});

race.run();
