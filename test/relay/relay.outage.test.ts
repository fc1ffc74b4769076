import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { assertExactlyOnceInOrder, firstCopies, issueMany } from '../support/log-assertions.ts';
import { skip, spec } from '../support/spec.ts';
import { canStopServices, startService, stopService } from '../support/stack-control.ts';

let harness!: Harness;
const outage = spec('admission while the broker or Redis is down', async () => (harness = await Harness.start({ relay: true })));

outage('with the Kafka broker stopped, issue still admits; when it is back every admitted event is in Kafka', async () => {
  if (!canStopServices) skip('local-stack', 'the broker is not this run\'s to stop');
  const couponId = await harness.createCoupon({ totalQuantity: 300 });
  await harness.drained(couponId);
  await stopService('kafka');
  try {
    assert.is(await issueMany(harness, couponId, Array.from({ length: 200 }, (_, i) => `outage-${i}`)), 200, 'admission does not depend on Kafka');
    assert.ok((await harness.outboxLength(couponId)) > 0, 'the events wait in the outbox');
  } finally {
    await startService('kafka');
  }
  await harness.drained(couponId, 120_000);
  assertExactlyOnceInOrder(firstCopies(await harness.eventsOf(couponId)), 200);
});

outage('with Redis stopped, issue answers 503 DEPENDENCY_UNAVAILABLE with Retry-After; once back, 201 again', async () => {
  if (!canStopServices) skip('local-stack', 'Redis is not this run\'s to stop');
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
  const back = await eventually('issue to answer again after Redis came back',
    () => harness.request('POST', `/coupons/${couponId}/issue`, { token }), (a) => a.status !== 503, { timeoutMs: 10_000, everyMs: 100 });
  assert.is(back.status, 201, 'issuing resumes once Redis is back, and AOF kept the coupon');
});

outage.run();
