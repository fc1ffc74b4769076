import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { shardOf } from '../../src/ids/ids.ts';
import { masterNodes } from '../../src/redis/redis-client.ts';
import { Harness } from '../support/api-harness.ts';
import { failedOver, redisNodeName, servedBy as servedByNode, slotOfShard as slotOf } from '../support/cluster-topology.ts';
import { eventually } from '../support/eventually.ts';
import { firstCopies } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';
import { freezeService, killService, startService } from '../support/stack-control.ts';

let harness!: Harness;
const cluster = spec('on a Redis Cluster and a 3-broker Kafka', async () =>
  (harness = await Harness.start({ relay: true, projector: true, env: { ADMISSION_REPLICAS: '1', ADMISSION_REPLICA_WAIT_MS: '1000' } })));

const nodeName = (address: string) => redisNodeName(harness.runtime.config.redisClusterNodes!, address);
const servedBy = (slot: number) => servedByNode(harness.runtime.redis, slot);
const slotOfShard = (shard: number) => slotOf(harness.runtime.redis, shard);

cluster('the event log keeps three copies, needs two in sync for a write, and never elects a replica that fell behind', async () => {
  const { kafka, config } = harness.runtime;
  const topicConfig = await kafka.topicConfig(config.kafka.topic);
  assert.equal([topicConfig['min.insync.replicas'], topicConfig['unclean.leader.election.enable'], topicConfig['retention.ms']], ['2', 'false', '-1']);
  assert.equal(config.kafka.brokers.length, 3);
  assert.is(config.kafka.replicationFactor, 3);
});

cluster('admission shards spread over every master (by CLUSTER KEYSLOT and CLUSTER SLOTS, not by assumption)', async () => {
  const { shards } = harness.runtime.config.admission;
  const owners = new Map<string, number[]>();
  for (let shard = 0; shard < shards; shard++) {
    const { master } = await servedBy(await slotOfShard(shard));
    owners.set(master, [...(owners.get(master) ?? []), shard]);
  }
  const masters = masterNodes(harness.runtime.redis).map((n) => `${n.options.host}:${n.options.port}`);
  assert.is(masters.length, 3);
  assert.equal([...owners.keys()].sort(), [...masters].sort(), `shards by master: ${JSON.stringify([...owners])}`);
});

cluster('with ADMISSION_REPLICAS=1, decisions no replica confirms are 503 OUTCOME_UNKNOWN (50 at once, confirmed as a group), and each Idempotency-Key then gets its first outcome', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 100 });
  const { replicas } = await servedBy(await slotOfShard(shardOf(couponId, harness.runtime.config.admission.shards)));
  const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => harness.token(`frozen-replica-user-${i}`)));
  const ask = (token: string, i: number) => harness.request('POST', `/coupons/${couponId}/issue`, { token, headers: { 'Idempotency-Key': `first-try-${i}` } });
  freezeService(nodeName(replicas[0]!), true);
  let first;
  try {
    first = await Promise.all(tokens.map(ask));
  } finally {
    freezeService(nodeName(replicas[0]!), false);
  }
  assert.equal([...new Set(first.map((a) => `${a.status} ${a.body.code}`))], ['503 OUTCOME_UNKNOWN'], 'no 201 without a replica, and no guess');
  const retried = await Promise.all(tokens.map((token, i) =>
    eventually('the retry to be answered once the replica is back', () => ask(token, i), (a) => a.status !== 503, { timeoutMs: 10_000, everyMs: 200 })));
  assert.equal([...new Set(retried.map((a) => `${a.status} ${a.headers['idempotent-replayed']}`))], ['201 true'], 'each retry gets the decision made under its first try');
  assert.is(new Set(retried.map((a) => a.body.issuedCouponId)).size, 50, 'fifty distinct coupons');
});

cluster('a master killed with -9 under issue traffic: its replica takes over; every 201 is in the log once, nothing over-issued, only 503 in between', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 1_500 });
  const slot = await slotOfShard(shardOf(couponId, harness.runtime.config.admission.shards));
  const { master } = await servedBy(slot);
  const answers: { user: string; status: number; code?: string; issuedCouponId?: string; at: number }[] = [];
  const users = Array.from({ length: 3_000 }, (_, i) => `failover-${i}`);
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  let killedAt = 0;
  let restarted: Promise<void> | undefined;
  for (let i = 0; i < users.length; i += 100) {
    if (i === 600) {
      killService(nodeName(master));
      killedAt = Date.now();
      // As a supervisor would: back once a replica took over, then as its replica.
      restarted = failedOver(harness.runtime.redis, slot, master).then(() => startService(nodeName(master)));
    }
    await Promise.all(users.slice(i, i + 100).map(async (user, j) => {
      const a = await harness.request('POST', `/coupons/${couponId}/issue`, { token: tokens[i + j]! });
      answers.push({ user, status: a.status, code: (a.body.code ?? a.body.detail) as string | undefined, issuedCouponId: a.body.issuedCouponId as string | undefined, at: Date.now() });
    }));
  }
  await restarted;

  const odd = answers.filter((a) => a.status !== 201 && a.status !== 409 && a.status !== 503);
  assert.equal(odd.slice(0, 3), [], `${odd.length} answers neither 201, 409 nor 503`);
  const issued = answers.filter((a) => a.status === 201);
  assert.ok(issued.length <= 1_500 && issued.length > 600, `${issued.length} issued`);
  const unavailable = answers.filter((a) => a.status === 503).sort((a, b) => a.at - b.at);
  const window = unavailable.length ? unavailable[unavailable.length - 1]!.at - killedAt : 0;
  process.stdout.write(`failover: ${issued.length} issued, ${unavailable.length} answered 503, the last ${window} ms after the kill\n`);
  assert.ok(answers.filter((a) => a.at > killedAt + window).some((a) => a.status === 201) || issued.length === 1_500, 'issuing resumed after the failover');

  await harness.drained(couponId, 120_000);
  await harness.projected(120_000);
  const log = await harness.eventsOf(couponId);
  const inLog = firstCopies(log).filter((e) => e.type === 'CouponIssued').map((e) => (e.data as { issuedCouponId: string; userId: string }));
  process.stdout.write(`failover: ${log.length - new Set(log.map((e) => e.eventId)).size} redelivered copies in the log\n`);
  assert.is(new Set(inLog.map((e) => e.issuedCouponId)).size, inLog.length, 'no issued coupon twice in the log');
  assert.is(new Set(inLog.map((e) => e.userId)).size, inLog.length, 'nobody twice');
  assert.ok(inLog.length <= 1_500, 'not over-issued');
  const logged = new Set(inLog.map((e) => e.issuedCouponId));
  assert.equal(issued.filter((a) => !logged.has(a.issuedCouponId!)).map((a) => a.user), [], 'every answered 201 is in the log');
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

cluster.run();
