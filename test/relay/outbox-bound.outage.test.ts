import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { assertExactlyOnceInOrder, firstCopies } from '../support/log-assertions.ts';
import { skip, spec } from '../support/spec.ts';
import { canStopServices, startService, stopService } from '../support/stack-control.ts';

const BOUND = 150;

const bounded = spec(`an outbox bounded at ${BOUND} pending events per shard`,
  () => Harness.start({ relay: true, env: { OUTBOX_MAX_ENTRIES: String(BOUND), ADMISSION_SHARDS: '1' } }));

async function askAll(harness: Harness, couponId: string, users: string[]) {
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  return Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
}

const countBy = (answers: { status: number; body: { code?: string } }[]) =>
  answers.reduce<Record<string, number>>((counts, a) => {
    const key = a.status === 201 ? '201' : `${a.status} ${a.body?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
    return counts;
  }, {});

bounded('given the broker stopped, when 600 ask at once, then the bound admits and the rest get 503 EVENT_LOG_UNAVAILABLE; Redis stops growing; once the broker is back everything drains and admissions resume', async (harness) => {
  if (!canStopServices) skip('local-stack', 'the broker is not this run\'s to stop');
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  await harness.drained(couponId);
  await stopService('kafka');
  let admitted: number;
  try {
    const burst = await askAll(harness, couponId, Array.from({ length: 600 }, (_, i) => `bound-${i}`));
    const counts = countBy(burst);
    admitted = counts['201'] ?? 0;
    assert.is(admitted, BOUND, `exactly the bound is admitted while the log is away; answers: ${JSON.stringify(counts)}`);
    assert.is(counts['503 EVENT_LOG_UNAVAILABLE'], 600 - BOUND, `the rest are refused, nothing else: ${JSON.stringify(counts)}`);
    const refused = burst.find((a) => a.status === 503)!;
    assert.is(refused.headers['retry-after'], '5');
    assert.is(refused.headers['content-type'], 'application/problem+json');

    // Every attempt is counted against its user's limit (a key that expires with the window); nothing else may appear.
    const decisionKeys = async () => {
      const keys: string[] = [];
      for await (const batch of harness.runtime.redis.scanStream({ count: 1_000 })) keys.push(...(batch as string[]));
      return keys.filter((k) => !k.includes(':rl:')).length;
    };
    const keysAtBound = await decisionKeys();
    const again = countBy(await askAll(harness, couponId, Array.from({ length: 600 }, (_, i) => `bound-late-${i}`)));
    assert.equal(again, { '503 EVENT_LOG_UNAVAILABLE': 600 }, 'at the bound nothing more is admitted');
    assert.is(await harness.outboxLength(couponId), BOUND, 'the outbox holds the bound, not one more');
    assert.is(await decisionKeys(), keysAtBound, 'refused requests leave no keys behind (no memo, no holder)');
    assert.is(await harness.runtime.redis.hlen(`{cp:0}:h:${couponId}`), BOUND, 'holders are the admitted, no more');

    const ready = await harness.request('GET', '/readyz');
    assert.is(ready.status, 503, 'Kafka is down, so the process is not ready');
    assert.ok(JSON.stringify(ready.body.degraded).includes('EVENT_LOG_UNAVAILABLE'), `readyz says why admissions stop: ${ready.text}`);
  } finally {
    await startService('kafka');
  }
  await harness.drained(couponId, 120_000);
  assertExactlyOnceInOrder(firstCopies(await harness.eventsOf(couponId)), admitted);
  const after = countBy(await askAll(harness, couponId, Array.from({ length: 100 }, (_, i) => `bound-after-${i}`)));
  assert.equal(after, { '201': 100 }, 'admissions resume once the backlog drained');
});

bounded('given the relay stopped with Kafka up, when a shard reaches the bound, then /readyz answers 200 degraded saying which shard and why; it is ready again once the relay drains it', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  await harness.drained(couponId);
  await harness.stopRelay();
  try {
    const pending = await harness.outboxLength(couponId);
    await askAll(harness, couponId, Array.from({ length: BOUND - pending + 20 }, (_, i) => `degraded-${i}`));
    const ready = await harness.request('GET', '/readyz');
    assert.is(ready.status, 200, ready.text);
    assert.is(ready.body.status, 'degraded');
    assert.ok(/shard 0 at the bound of 150/.test(JSON.stringify(ready.body.degraded)), ready.text);
    assert.is((ready.body.outbox as { pending: number[] }).pending[0], BOUND);
  } finally {
    await harness.startRelay();
  }
  await harness.drained(couponId);
  const ready = await harness.request('GET', '/readyz');
  assert.is(ready.body.status, 'ready', ready.text);
});

bounded.run();
