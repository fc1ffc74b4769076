import * as assert from 'uvu/assert';
import { connectRedis } from '../../src/redis/redis-client.ts';
import { startRelay, type RunningRelay } from '../../src/roles/relay-role.ts';
import { Harness } from '../support/api-harness.ts';
import { startDelayProxy } from '../support/delay-proxy.ts';
import { eventually } from '../support/eventually.ts';
import { assertExactlyOnceInOrder, issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const fencing = spec('relay leases with fencing tokens', async () => (harness = await Harness.start({ env: { RELAY_LEASE_MS: '1000' } })));

fencing('two relays, one whose reads come back slower than its lease: every coupon\'s events reach Kafka once, in admission order', async () => {
  const { config } = harness.runtime;
  const redisUrl = new URL(config.redisUrl);
  const proxy = await startDelayProxy({ host: redisUrl.hostname, port: Number(redisUrl.port) });
  const throughProxy = new URL(config.redisUrl);
  throughProxy.port = String(proxy.port);
  let slow: RunningRelay | undefined;
  let fast: RunningRelay | undefined;
  try {
    // Admissions wait in the outbox; a relay whose outbox reads arrive 2.5 s late takes every shard and
    // reads them; a second relay starts while more admissions arrive.
    const coupons = await Promise.all([1, 2, 3, 4].map(() => harness.createCoupon({ totalQuantity: 150 })));
    const issue = (from: number, to: number) => Promise.all(coupons.map((couponId, i) =>
      issueMany(harness, couponId, Array.from({ length: to - from }, (_, j) => `fenced-${i}-${from + j}`))));
    await issue(0, 100);
    const slowReader = await connectRedis(throughProxy.toString(), { commandTimeoutMs: 10_000 });
    proxy.delay(2_500);
    slow = await startRelay(harness.runtime, slowReader);
    await eventually('the slow relay to hold every shard', () => harness.runtime.redis.keys('{cp:*}:relay-lease'), (keys) => keys.length === config.admission.shards);
    fast = await startRelay(harness.runtime);
    await issue(100, 150);
    for (const couponId of coupons) await harness.drained(couponId, 60_000);
    // The slow relay's reads come back: it must drop what it read, not send it after the new holder did.
    await eventually('the slow relay to act on the batches it read', () => [slow!.relay.fencedOut, slow!.relay.relayed], (counts) => counts[0]! + counts[1]! > 0,
      { timeoutMs: 15_000 });
    for (const couponId of coupons) assertExactlyOnceInOrder(await harness.eventsOf(couponId), 150);
    assert.is(slow.relay.relayed, 0, 'the slow relay sent nothing once its lease was gone');
    assert.ok(fast.relay.relayed >= 600, `the other relay took the shards over and sent everything: ${fast.relay.relayed}`);
  } finally {
    await slow?.stop();
    await fast?.stop();
    await proxy.close();
  }
});

fencing.run();
