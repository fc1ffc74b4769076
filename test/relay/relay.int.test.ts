import * as assert from 'uvu/assert';
import { shardKeys } from '../../src/outbox/outbox.ts';
import { shardOf } from '../../src/ids/ids.ts';
import { startRelay } from '../../src/roles/relay-role.ts';
import { Harness } from '../support/api-harness.ts';
import { assertExactlyOnceInOrder, issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';
import { eventually } from '../support/eventually.ts';

let harness!: Harness;
const relay = spec('outbox relay', async () => (harness = await Harness.start()));

relay('with the relay stopped 1,000 issues are admitted and wait in the outbox; started, all reach Kafka once, in order', async () => {
  await harness.stopRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  const admitted = await issueMany(harness, couponId, Array.from({ length: 1_000 }, (_, i) => `patient-${i}`));
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
    await Promise.all(coupons.map((c, i) => issueMany(harness, c, Array.from({ length: 150 }, (_, j) => `pair-${i}-${j}`))));
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
  assert.is(await issueMany(harness, couponId, ['after-poison']), 1);
  await harness.drained(couponId);
  assert.is(await harness.runtime.redis.xlen(keys.deadLetters), deadBefore + 1);
  const [dead] = (await harness.runtime.redis.xrevrange(keys.deadLetters, '+', '-', 'COUNT', 1)) as [string, string[]][];
  assert.ok(dead![1].includes('CouponExploded'), 'the dead letter keeps the entry as written');
  assert.ok(dead![1].some((f) => /invalid coupon event/.test(f)), 'and says why');
  const types = (await harness.eventsOf(couponId)).map((e) => e.type);
  assert.equal(types, ['CouponCreated', 'CouponIssued']);
});

relay('given an entry the relay already sent reappearing below what it has read (a failover to a replica that never got the delete), then it is sent again and leaves the outbox, not counted against the bound forever', async () => {
  await harness.stopRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 10 });
  assert.is(await issueMany(harness, couponId, ['before-failover']), 1);
  const outbox = shardKeys(shardOf(couponId, harness.runtime.config.admission.shards)).outbox;
  const entries = await harness.runtime.redis.xrange(outbox, '-', '+');
  const issued = entries.find(([, fields]) => fields[fields.indexOf('t') + 1] === 'CouponIssued')!;
  await harness.startRelay();
  await harness.drained(couponId);
  assert.is(await issueMany(harness, couponId, ['after']), 1);
  await harness.drained(couponId);

  // The replica's stream: an older entry, under an id far below everything the relay has read since.
  await harness.runtime.redis.del(outbox);
  await harness.runtime.redis.xadd(outbox, '1-1', ...issued[1]);
  await eventually('the reappeared entry to leave the outbox', () => harness.runtime.redis.xlen(outbox), (n) => n === 0, { timeoutMs: 10_000, everyMs: 50 });
  const issuedIds = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued').map((e) => e.eventId);
  assert.equal([issuedIds.length, new Set(issuedIds).size], [3, 2], 'sent again: a copy consumers drop by eventId');
});

relay.run();
