import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { shardKeys } from '../../src/coupons/admission/keys.ts';
import { shardOf } from '../../src/coupons/ids.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { startRelay } from '../../src/roles/relay-role.ts';
import { Harness } from '../support/api-harness.ts';
import { canStopServices, startService, stopService } from '../support/stack-control.ts';

const harness = await Harness.start();
const relay = suite('outbox relay');
relay.after(() => harness.close());

async function issueMany(couponId: string, users: string[]): Promise<number> {
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  const answers = await Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
  return answers.filter((a) => a.status === 201).length;
}

function assertExactlyOnceInOrder(events: CouponEvent[], issuedCount: number): void {
  const ids = events.map((e) => e.eventId);
  assert.is(new Set(ids).size, ids.length, 'no event appears twice');
  const issued = events.filter((e) => e.type === 'CouponIssued');
  assert.is(issued.length, issuedCount);
  const sequences = issued.map((e) => Number((e.data as { issuedCouponId: string }).issuedCouponId.split('.')[1]));
  assert.equal(sequences, [...sequences].sort((a, b) => a - b), 'CouponIssued events are in admission order');
  assert.is(events[0]!.type, 'CouponCreated', 'the coupon is created before anything happens to it');
}

relay('with the relay stopped 1,000 issues are admitted and wait in the outbox; started, all reach Kafka once, in order', async () => {
  await harness.stopRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  const admitted = await issueMany(couponId, Array.from({ length: 1_000 }, (_, i) => `patient-${i}`));
  assert.is(admitted, 1_000);
  assert.ok((await harness.outboxLength(couponId)) >= 1_001, 'every admission is in the outbox');
  assert.equal(await harness.eventsOf(couponId), [], 'nothing reached Kafka without a relay');

  await harness.startRelay();
  await harness.drained(couponId);
  assertExactlyOnceInOrder(await harness.eventsOf(couponId), 1_000);
});

relay('two relays at once share the shards: every event once, in order', async () => {
  await harness.startRelay();
  const second = await startRelay(harness.runtime);
  try {
    const coupons = await Promise.all([1, 2, 3, 4].map(() => harness.createCoupon({ totalQuantity: 200 })));
    await Promise.all(coupons.map((c, i) => issueMany(c, Array.from({ length: 150 }, (_, j) => `pair-${i}-${j}`))));
    for (const couponId of coupons) {
      await harness.drained(couponId);
      assertExactlyOnceInOrder(await harness.eventsOf(couponId), 150);
    }
    assert.ok(harness.relay!.relay.relayed > 0 || second.relay.relayed > 0);
  } finally {
    await second.stop();
  }
});

relay('an outbox entry that is not a valid event is dead-lettered, and the ones after it still flow', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon();
  await harness.drained(couponId);
  const keys = shardKeys(shardOf(couponId, harness.runtime.config.admission.shards));
  const deadBefore = await harness.runtime.redis.xlen(keys.deadLetters);
  await harness.runtime.redis.xadd(keys.outbox, '*', 't', 'CouponExploded', 'e', 'nope', 'c', couponId, 'at', '1', 'd', '{}', 'm', '{}');
  assert.is(await issueMany(couponId, ['after-poison']), 1);
  await harness.drained(couponId);
  assert.is(await harness.runtime.redis.xlen(keys.deadLetters), deadBefore + 1);
  const [dead] = (await harness.runtime.redis.xrevrange(keys.deadLetters, '+', '-', 'COUNT', 1)) as [string, string[]][];
  assert.ok(dead![1].includes('CouponExploded'), 'the dead letter keeps the entry as written');
  assert.ok(dead![1].some((f) => /invalid coupon event/.test(f)), 'and says why');
  const types = (await harness.eventsOf(couponId)).map((e) => e.type);
  assert.equal(types, ['CouponCreated', 'CouponIssued']);
});

relay('with the Kafka broker stopped, issue still admits; when it is back every admitted event is in Kafka', async () => {
  if (!canStopServices) return console.log('  (skipped: the broker is not the test stack\'s to stop)');
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 300 });
  await harness.drained(couponId);
  await stopService('kafka');
  let admitted: number;
  try {
    admitted = await issueMany(couponId, Array.from({ length: 200 }, (_, i) => `outage-${i}`));
    assert.is(admitted, 200, 'admission does not depend on Kafka');
    assert.ok((await harness.outboxLength(couponId)) > 0, 'the events wait in the outbox');
  } finally {
    await startService('kafka');
  }
  await harness.drained(couponId, 120_000);
  assertExactlyOnceInOrder(await harness.eventsOf(couponId), 200);
});

relay('with Redis stopped, issue answers 503 DEPENDENCY_UNAVAILABLE with Retry-After; once back, 201 again', async () => {
  if (!canStopServices) return console.log('  (skipped: Redis is not the test stack\'s to stop)');
  const couponId = await harness.createCoupon();
  const token = await harness.token('during-redis-outage');
  await stopService('redis');
  try {
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
    assert.is(answer.status, 503, answer.text);
    assert.is(answer.body.code, 'DEPENDENCY_UNAVAILABLE');
    assert.is(answer.headers['retry-after'], '1');
  } finally {
    await startService('redis');
  }
  let status = 0;
  for (let i = 0; i < 100 && status !== 201; i++) {
    status = (await harness.request('POST', `/coupons/${couponId}/issue`, { token })).status;
    if (status !== 201) await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(status, 201, 'issuing resumes once Redis is back, and AOF kept the coupon');
});

relay.run();
