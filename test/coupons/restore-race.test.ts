import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';

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

race.run();
