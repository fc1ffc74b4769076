import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { StockBuckets } from '../../src/coupons/admission/stock-buckets.ts';
import { ScriptRunner } from '../../src/coupons/admission/script-runner.ts';
import { shardTag } from '../../src/outbox/outbox.ts';
import { keySlot } from '../../src/redis/key-slot.ts';
import { masterNodes } from '../../src/redis/redis-client.ts';
import { Harness } from '../support/api-harness.ts';
import { failedOver, redisNodeName, servedBy as servedByNode } from '../support/cluster-topology.ts';
import { firstCopies } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';
import { killService, startService } from '../support/stack-control.ts';

let harness!: Harness;
const hot = spec('one hot coupon over three masters', async () =>
  (harness = await Harness.start({ relay: true, projector: true, env: { ADMISSION_REPLICAS: '1', ADMISSION_REPLICA_WAIT_MS: '1000' } })));

const masterOfShard = async (shard: number) => (await servedByNode(harness.runtime.redis, Number(await harness.runtime.redis.cluster('KEYSLOT', shardTag(shard))))).master;
const layoutOf = async (couponId: string) => (await new StockBuckets(new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission)).layoutOf(couponId))!;

hot('a coupon in 3 buckets has one on each master (slots by CLUSTER KEYSLOT, owners by CLUSTER SLOTS)', async () => {
  for (let shard = 0; shard < harness.runtime.config.admission.shards; shard++) {
    assert.is(keySlot(shardTag(shard)), Number(await harness.runtime.redis.cluster('KEYSLOT', shardTag(shard))), `shard ${shard}'s slot`);
  }
  const masters = masterNodes(harness.runtime.redis).map((n) => `${n.options.host}:${n.options.port}`).sort();
  for (let i = 0; i < 5; i++) {
    const layout = await layoutOf(await harness.createCoupon({ totalQuantity: 30, buckets: 3 }));
    assert.equal((await Promise.all(layout.shards.map(masterOfShard))).sort(), masters);
  }
});

hot('the master of one bucket killed with -9 mid-sell-out: every 201 is in the log once, nothing over-issued, only 503 in between, and a SOLD_OUT only once all was issued', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 1_500, buckets: 3 });
  const layout = await layoutOf(couponId);
  const victim = await masterOfShard(layout.shards[1]!);
  const nodeName = redisNodeName(harness.runtime.config.redisClusterNodes!, victim);
  const victimSlot = Number(await harness.runtime.redis.cluster('KEYSLOT', shardTag(layout.shards[1]!)));
  const users = Array.from({ length: 3_000 }, (_, i) => `bucket-failover-${i}`);
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  const answers: { user: string; status: number; code?: string; issuedCouponId?: string }[] = [];
  let restarted: Promise<void> | undefined;
  for (let i = 0; i < users.length; i += 100) {
    if (i === 600) {
      killService(nodeName);
      // As a supervisor would: back once a replica took over, then as its replica.
      restarted = failedOver(harness.runtime.redis, victimSlot, victim).then(() => startService(nodeName));
    }
    await Promise.all(users.slice(i, i + 100).map(async (user, j) => {
      const a = await harness.request('POST', `/coupons/${couponId}/issue`, { token: tokens[i + j]! });
      answers.push({ user, status: a.status, code: a.body.code as string | undefined, issuedCouponId: a.body.issuedCouponId as string | undefined });
    }));
  }
  await restarted;

  const odd = answers.filter((a) => a.status !== 201 && a.status !== 409 && a.status !== 503);
  assert.equal(odd.slice(0, 3), [], `${odd.length} answers neither 201, 409 nor 503`);
  const issued = answers.filter((a) => a.status === 201);
  assert.ok(issued.length <= 1_500 && issued.length > 600, `${issued.length} issued`);
  process.stdout.write(`bucket failover: ${issued.length} issued, ${answers.filter((a) => a.status === 503).length} answered 503\n`);

  await harness.drained(couponId, 120_000);
  await harness.projected(120_000);
  const inLog = firstCopies(await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued').map((e) => e.data as { issuedCouponId: string; userId: string });
  assert.is(new Set(inLog.map((e) => e.issuedCouponId)).size, inLog.length, 'no issued coupon twice in the log');
  assert.is(new Set(inLog.map((e) => e.userId)).size, inLog.length, 'nobody twice');
  assert.ok(inLog.every((e) => Number(e.issuedCouponId.split('.')[1]) <= 1_500), 'every number within 1..1,500');
  const logged = new Set(inLog.map((e) => e.issuedCouponId));
  assert.equal(issued.filter((a) => !logged.has(a.issuedCouponId!)).map((a) => a.user), [], 'every answered 201 is in the log');
  // A SOLD_OUT says every coupon was issued at that instant: issues only grow, so the log then holds all 1,500.
  if (answers.some((a) => a.code === 'SOLD_OUT')) assert.is(inLog.length, 1_500, 'SOLD_OUT was answered, so all were issued');
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

hot.run();
