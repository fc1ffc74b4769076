import * as assert from 'uvu/assert';
import { parseRedemption } from '../../src/coupons/admission/redemption-value.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { ADMISSION_MARKER, AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { partitionFor } from '../../src/kafka/kafka-client.ts';
import { logAndStores } from '../../src/runtime/runtime.ts';
import { Harness } from '../support/api-harness.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';
import { flushEveryNode } from '../../src/redis/redis-client.ts';

let harness!: Harness;
const restore = spec('a full restore starts from the read models at their checkpoints', async () => (harness = await Harness.start({ relay: true, projector: true })));

/** Everything Redis holds for these coupons' admission, field by field. */
async function admissionState(couponIds: string[]): Promise<Record<string, unknown>> {
  const { redis, config } = harness.runtime;
  const out: Record<string, unknown> = {};
  for (const id of couponIds) {
    const k = couponKeys(id, config.admission.shards);
    out[id] = { coupon: await redis.hgetall(k.coupon), holders: await redis.hgetall(k.holders), used: await redis.hgetall(k.used) };
  }
  return out;
}

/** What admission decides by (a live coupon has no `usd` field until its first use; a redemption is compared as read, not byte for byte). */
function decisive(state: unknown): unknown {
  const { coupon, holders, used } = state as { coupon: Record<string, string>; holders: unknown; used: Record<string, string> };
  return {
    st: coupon.st, rvu: coupon.rvu ?? null, tot: coupon.tot, iss: coupon.iss, counts: [coupon.usd ?? '0', coupon.cnc ?? '0', coupon.rvk ?? '0'], def: coupon.def,
    windows: [coupon.is, coupon.ie, coupon.vf, coupon.vu], holders, used: Object.fromEntries(Object.entries(used).map(([s, v]) => [s, parseRedemption(v)])),
  };
}

async function activity(couponIds: string[], round: string, users: number, uses: number): Promise<void> {
  const admin = await harness.token('admin', 'admin');
  const orders = await harness.token('orders', 'service');
  for (const couponId of couponIds) {
    const names = Array.from({ length: users }, (_, i) => `${round}-${couponId.slice(-4)}-${i}`);
    await issueMany(harness, couponId, names);
    for (const [i, name] of names.slice(0, uses).entries()) {
      const token = await harness.token(name);
      // From admission state (the read models may be behind, or stopped).
      const held = (await harness.request<{ issued: boolean; issuedCouponId: string }>('GET', `/coupons/${couponId}/issuance`, { token })).body;
      if (!held.issued) continue;
      const path = `/issued-coupons/${held.issuedCouponId}`;
      await harness.request('POST', `${path}/use`, { token, body: { orderId: `${name}-1` } });
      // Some uses cancelled, and one of those used again: restores must carry every redemption state.
      if (i < 3) assert.is((await harness.request('POST', `${path}/cancel-use`, { token: orders, body: { orderId: `${name}-1` } })).status, 200);
      if (i === 0) await harness.request('POST', `${path}/use`, { token, body: { orderId: `${name}-2` } });
    }
  }
  if (round === 'after') await harness.request('POST', `/admin/coupons/${couponIds[0]}/close`, { token: admin });
}

restore('given read models behind the log (projector stopped), then snapshot + tail restores exactly what a replay from offset 0 restores, and reads only the tail', async () => {
  const { config } = harness.runtime;
  const coupons: string[] = [];
  while (new Set(coupons.map((c) => partitionFor(c, config.kafka.partitions))).size < 3) coupons.push(await harness.createCoupon({ totalQuantity: 500 }));
  await activity(coupons, 'before', 60, 15);
  // One coupon ended before the snapshot: its unused coupons revoked.
  const ended = await harness.createCoupon({ totalQuantity: 30 });
  coupons.push(ended);
  await activity([ended], 'revoked', 20, 6);
  assert.is((await harness.request('POST', `/admin/coupons/${ended}/revoke-unused`, { token: await harness.token('admin', 'admin') })).body.revokedCount, 16);
  for (const couponId of coupons) await harness.drained(couponId);
  await harness.projected(60_000, ['coupon', 'issued_coupon']);
  await harness.projector!.stop();
  harness.projector = undefined;

  const newcomers = [await harness.createCoupon({ totalQuantity: 50 })];
  await activity([...coupons.filter((c) => c !== ended), ...newcomers], 'after', 25, 5);
  for (const couponId of [...coupons, ...newcomers]) await harness.drained(couponId);
  const all = [...coupons, ...newcomers];
  const live = await admissionState(all);
  await harness.stopRelay();

  const sum = (offsets: Iterable<bigint | string | number>) => [...offsets].reduce<bigint>((a, b) => a + BigInt(b), 0n);
  const checkpoints = await harness.runtime.db.selectFrom('projection_checkpoint').select('next_offset')
    .where('projection', '=', 'coupon').where('topic', '=', config.kafka.topic).execute();
  const tail = Number(sum((await harness.runtime.kafka.endOffsets(config.kafka.topic)).values()) - sum(checkpoints.map((c) => c.next_offset)));
  assert.ok(tail >= all.length * 25, `the read models are behind by the second round (${tail} events)`);
  const fromSnapshot = new AdmissionRecovery(logAndStores(harness.runtime));
  await flushEveryNode(harness.runtime.redis);
  assert.equal((await fromSnapshot.restore()).sort(), [...all].sort());
  const restoredFromSnapshot = await admissionState(all);
  assert.is(fromSnapshot.eventsRead, tail, 'only the events after the checkpoints were read from the log');

  const fromStart = new AdmissionRecovery(logAndStores(harness.runtime));
  await flushEveryNode(harness.runtime.redis);
  assert.equal((await fromStart.restore(undefined, { fromSnapshot: false })).sort(), [...all].sort());
  const replayed = await admissionState(all);
  assert.is(fromStart.eventsRead, Number(sum((await harness.runtime.kafka.endOffsets(config.kafka.topic)).values())), 'a replay reads the whole log');

  assert.equal(restoredFromSnapshot, replayed);
  for (const id of all) assert.equal(decisive(restoredFromSnapshot[id]), decisive(live[id]), `coupon ${id} is restored as it was live`);
  await harness.runtime.redis.set(ADMISSION_MARKER, 'restored');
  await harness.startRelay();
});

restore('given a read model whose counts disagree with its rows, then that partition is replayed from the start instead', async () => {
  await harness.startRelay();
  const couponId = await harness.createCoupon({ totalQuantity: 100 });
  harness.projector ??= await (await import('../../src/roles/projector-role.ts')).startProjectorRole(harness.runtime);
  await issueMany(harness, couponId, Array.from({ length: 40 }, (_, i) => `skew-${i}`));
  await harness.drained(couponId);
  await harness.projected(60_000, ['coupon', 'issued_coupon']);
  const live = await admissionState([couponId]);
  // A row lost from issued_coupon: the snapshot no longer checks out against coupon.issued_count.
  await harness.runtime.db.deleteFrom('issued_coupon').where('coupon_id', '=', couponId).where('user_id', '=', 'skew-7').execute();
  await harness.runtime.redis.del(...Object.values(couponKeys(couponId, harness.runtime.config.admission.shards)).filter((k): k is string => typeof k === 'string' && !k.endsWith(':outbox')));
  const recovery = new AdmissionRecovery(logAndStores(harness.runtime));
  assert.ok((await recovery.restore()).includes(couponId));
  assert.equal(decisive((await admissionState([couponId]))[couponId]), decisive(live[couponId]), 'restored from the log, not from the damaged rows');
});

restore.run();
