import * as assert from 'uvu/assert';
import { Redis as RedisNode } from 'ioredis';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { shardOf } from '../../src/ids/ids.ts';
import { masterNodes } from '../../src/redis/redis-client.ts';
import { Harness } from '../support/api-harness.ts';
import { servedBy, slotOfShard } from '../support/cluster-topology.ts';
import { spec } from '../support/spec.ts';

const resharding = spec('a slot moved to another master while its coupon is being issued',
  () => Harness.start({ relay: true, env: { ADMISSION_REPLICAS: '1' } }));

const connect = (address: string) => {
  const [host, port] = address.split(':');
  return new RedisNode({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1 });
};

/**
 * Moves one slot the way `redis-cli --cluster reshard` does: target IMPORTING, source MIGRATING, keys moved
 * in small batches (so scripts meet the slot half moved: ASK and TRYAGAIN), then the slot assigned to the
 * target on every master.
 */
async function moveSlot(slot: number, from: string, to: string, masters: string[]): Promise<number> {
  const [source, target] = [connect(from), connect(to)];
  await Promise.all([source.connect(), target.connect()]);
  try {
    const [sourceId, targetId] = [await source.cluster('MYID'), await target.cluster('MYID')] as string[];
    await target.cluster('SETSLOT', slot, 'IMPORTING', sourceId!);
    await source.cluster('SETSLOT', slot, 'MIGRATING', targetId!);
    const [host, port] = to.split(':');
    let moved = 0;
    for (;;) {
      const keys = (await source.cluster('GETKEYSINSLOT', slot, 5)) as string[];
      if (keys.length === 0) break;
      await source.call('MIGRATE', host!, port!, '', 0, 10_000, 'KEYS', ...keys);
      moved += keys.length;
      await new Promise((r) => setTimeout(r, 2));
    }
    for (const address of masters) {
      const node = connect(address);
      await node.connect();
      await node.cluster('SETSLOT', slot, 'NODE', targetId!);
      node.disconnect();
    }
    return moved;
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

resharding('given 3,000 users asking for a coupon of 3,000, when its slot moves to another master mid-burst, then every one gets 201 (MOVED, ASK and TRYAGAIN followed, never a 5xx), once each in the log, and the audit passes', async (harness) => {
  const { redis, config } = harness.runtime;
  const couponId = await harness.createCoupon({ totalQuantity: 3_000 });
  const slot = await slotOfShard(redis, shardOf(couponId, config.admission.shards));
  const { master: from } = await servedBy(redis, slot);
  const masters = masterNodes(redis).map((n) => `${n.options.host}:${n.options.port}`);
  const to = masters.find((m) => m !== from)!;
  const tokens = await Promise.all(Array.from({ length: 3_000 }, (_, i) => harness.token(`reshard-${i}`)));

  const answers: { status: number; code?: string }[] = [];
  let moving: Promise<number> | undefined;
  for (let i = 0; i < tokens.length; i += 150) {
    if (i === 600) moving = moveSlot(slot, from, to, masters);
    const wave = await Promise.all(tokens.slice(i, i + 150).map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
    answers.push(...wave.map((a) => ({ status: a.status, code: a.body.code as string | undefined })));
  }
  const moved = await moving!;
  const byAnswer = answers.reduce<Record<string, number>>((n, a) => ({ ...n, [`${a.status}${a.code ? ` ${a.code}` : ''}`]: (n[`${a.status}${a.code ? ` ${a.code}` : ''}`] ?? 0) + 1 }), {});
  assert.equal(byAnswer, { 201: 3_000 }, `every request issued while ${moved} keys moved from ${from} to ${to}`);
  assert.is((await servedBy(redis, slot)).master, to, 'the slot is served by its new master');

  await harness.drained(couponId, 120_000);
  const issued = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued');
  const distinct = new Map(issued.map((e) => [e.eventId, (e.data as { issuedCouponId: string }).issuedCouponId]));
  assert.is(new Set(distinct.values()).size, 3_000, 'each admission once in the log');
  assert.is(distinct.size, 3_000, 'and no decision made twice');
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
  // Leave the slot map as the stack made it, for the next run on the same stack.
  await moveSlot(slot, to, from, masters);
});

resharding.run();
