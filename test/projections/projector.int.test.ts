import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { partitionFor } from '../../src/kafka/kafka-client.ts';
import { Harness } from '../support/api-harness.ts';
import { spawnApp, type AppProcess } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const projector = spec('projector: exactly once through crashes and redelivery', async () => (harness = await Harness.start({ relay: true })));

const env = { ROLES: 'projector', LOG_LEVEL: 'warn' };

/** Issues (and some uses) in batches of 100 askers a coupon until `done` says so: events keep coming however fast the projector is. */
async function traffic(coupons: string[], done: () => boolean, made: Map<string, { issued: number; used: number }>): Promise<void> {
  for (const couponId of coupons) made.set(couponId, { issued: 0, used: 0 });
  for (let batch = 0; !done(); batch += 100) {
    await Promise.all(coupons.flatMap((couponId, c) => Array.from({ length: 100 }, async (_, i) => {
      const token = await harness.token(`crash-${c}-${batch + i}`);
      const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
      if (issued.status !== 201) throw new Error(`issue answered ${issued.status}: ${issued.text}`);
      made.get(couponId)!.issued++;
      if ((batch + i) % 3 === 0) {
        const used = await harness.request('POST', `/issued-coupons/${issued.body.issuedCouponId}/use`, { token, body: { orderId: `o-${batch + i}` } });
        if (used.status !== 200) throw new Error(`use answered ${used.status}: ${used.text}`);
        made.get(couponId)!.used++;
      }
    })));
  }
}

/** Events the `coupon` projection has applied from these partitions: the sum of its checkpoints there. */
async function appliedFrom(partitions: number[]): Promise<number> {
  const rows = await harness.runtime.db.selectFrom('projection_checkpoint').select(['partition_no', 'next_offset'])
    .where('projection', '=', 'coupon').where('topic', '=', harness.runtime.config.kafka.topic).execute();
  return rows.filter((r) => partitions.includes(r.partition_no)).reduce((n, r) => n + Number(r.next_offset), 0);
}

projector('killed with SIGKILL mid-stream twice and restarted, it leaves read models equal to a replay of the log', async () => {
  const coupons = await Promise.all([1, 2, 3].map(() => harness.createCoupon({ totalQuantity: 1_000_000 })));
  const { topic, partitions } = harness.runtime.config.kafka;
  const ours = [...new Set(coupons.map((c) => partitionFor(c, partitions)))];
  const groupId = `projector.${topic}`;
  let running: AppProcess = await spawnApp(env);
  // Running until both kills are done: a load that ended first would leave the second kill waiting for events that never come.
  let killed = false;
  // What the traffic made of each coupon: the audit must count those events and the read model those rows.
  const made = new Map<string, { issued: number; used: number }>();
  const load = traffic(coupons, () => killed, made);
  try {
    for (let kill = 0; kill < 2; kill++) {
      // The process about to die is the group's only member and holds every partition these coupons live in.
      const members = await eventually('the projector process to hold the coupons\' partitions', () => harness.runtime.kafka.groupMembers(groupId),
        (m) => m.length === 1 && ours.every((p) => m[0]!.partitions[topic]?.includes(p)), { timeoutMs: 30_000, everyMs: 100 });
      assert.is(members.length, 1);
      // It dies while it is applying: after it applied 300 more events of those partitions, with more still arriving.
      const before = await appliedFrom(ours);
      await eventually('the projector to apply 300 more events of the coupons\' partitions', () => appliedFrom(ours), (n) => n >= before + 300,
        { timeoutMs: 60_000, everyMs: 20 });
      running.child.kill('SIGKILL');
      assert.equal(await running.exitedWithin(10_000, 'SIGKILL ends it'), { code: null, signal: 'SIGKILL' });
      running = await spawnApp(env);
    }
    killed = true;
    await load;
    for (const couponId of coupons) await harness.drained(couponId);
    await harness.projected(120_000);
  } finally {
    killed = true;
    await running.stop();
  }
  for (const couponId of coupons) {
    const report = await harness.audit(couponId);
    assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
    assert.is(report.events, 1 + made.get(couponId)!.issued + made.get(couponId)!.used);
  }
  const issuedCount = [...made.values()].reduce((n, m) => n + m.issued, 0);
  const rows = await harness.runtime.db.selectFrom('issued_coupon').select((eb) => eb.fn.countAll<number>().as('n')).where('coupon_id', 'in', coupons).executeTakeFirstOrThrow();
  assert.is(Number(rows.n), issuedCount, 'one row per issued coupon, none twice');
});

projector('events written to the log twice change no count and no row', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 10 });
  const tokens = await Promise.all(['d1', 'd2', 'd3'].map((u) => harness.token(u)));
  const issued = await Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
  await harness.request('POST', `/issued-coupons/${issued[1]!.body.issuedCouponId}/use`, { token: tokens[1] });
  await harness.drained(couponId);

  const role = await spawnApp(env);
  try {
    await harness.projected();
    const before = await harness.request('GET', `/admin/coupons/${couponId}`, { token: await harness.token('admin', 'admin') });
    const history = await harness.eventsOf(couponId);
    const producer = await harness.runtime.kafka.producer();
    await producer.append(harness.runtime.config.kafka.topic, history.slice(1).map((e) => ({ key: e.couponId, value: JSON.stringify(e) })));
    await producer.close();
    await harness.projected();
    const after = await harness.request('GET', `/admin/coupons/${couponId}`, { token: await harness.token('admin', 'admin') });
    assert.equal([after.body.issuedCount, after.body.usedCount], [3, 1]);
    assert.equal(after.body, before.body);
    const report = await harness.audit(couponId);
    assert.is(report.duplicates, history.length - 1);
    assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
  } finally {
    await role.stop();
  }
});

projector.run();
