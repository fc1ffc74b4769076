import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { Harness } from '../support/api-harness.ts';
import { spawnApp, type AppProcess } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const holds = spec('holds at checkout', async () => (harness = await Harness.start({ relay: true, projector: true })));

/** A coupon issued to `user`, and its id. */
async function issuedTo(user: string, overrides: Record<string, unknown> = {}): Promise<{ couponId: string; id: string }> {
  const couponId = await harness.createCoupon({ totalQuantity: 5, ...overrides });
  const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
  assert.is(answer.status, 201, answer.text);
  return { couponId, id: answer.body.issuedCouponId as string };
}

/** The coupon's holds and uses in Redis, and its events in the log once the relay has sent them. */
const stateOf = async (couponId: string) => {
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.drained(couponId);
  return JSON.stringify([await harness.runtime.redis.hgetall(k.holds), await harness.runtime.redis.hgetall(k.used), (await harness.eventsOf(couponId)).length]);
};

holds('a hold on order A blocks order B, answers A again as it is, and is confirmed by A\'s use', async () => {
  const { couponId, id } = await issuedTo('ann');
  const service = await harness.token('orders', 'service');
  const held = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: service, body: { orderId: 'A', ttlSeconds: 600, userId: 'ann' } });
  assert.is(held.status, 200, held.text);
  assert.equal([held.body.status, held.body.orderId], ['HELD', 'A']);
  const ann = await harness.token('ann');
  const otherHold = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: ann, body: { orderId: 'B', ttlSeconds: 60 } });
  const otherUse = await harness.request('POST', `/issued-coupons/${id}/use`, { token: ann, body: { orderId: 'B' } });
  assert.equal([otherHold.status, otherHold.body.code, otherUse.status, otherUse.body.code], [409, 'HELD', 409, 'HELD']);
  const again = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: ann, body: { orderId: 'A', ttlSeconds: 3_600 } });
  assert.equal([again.status, again.body.heldUntil], [200, held.body.heldUntil]);
  await harness.drained(couponId);
  await harness.projected();
  const mine = await harness.request<{ items: { status: string }[] }>('GET', '/me/coupons?status=HELD', { token: ann });
  assert.equal(mine.body.items.map((i) => i.status), ['HELD']);
  const used = await harness.request('POST', `/issued-coupons/${id}/use`, { token: ann, body: { orderId: 'A' } });
  assert.is(used.status, 200, used.text);
  await harness.drained(couponId);
  const events = (await harness.eventsOf(couponId)).filter((e) => e.type !== 'CouponCreated' && e.type !== 'CouponIssued');
  assert.equal(events.map((e) => [e.type, 'holdSequence' in e.data ? e.data.holdSequence : undefined]), [['CouponHeld', 1], ['CouponUsed', 1]]);
  await harness.projected();
  const row = await harness.runtime.db.selectFrom('issued_coupon').select(['status', 'hold_sequence', 'hold_ended']).where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row, { status: 'USED', hold_sequence: 1, hold_ended: 'USED' });
  assert.ok(auditPassed(await harness.audit(couponId)));
});

holds('a release: only the order system or an admin, only for the holding order, the same 200 when asked again; then another order may use it', async () => {
  const { couponId, id } = await issuedTo('bea');
  const bea = await harness.token('bea');
  const service = await harness.token('orders', 'service');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/hold`, { token: bea, body: { orderId: 'A', ttlSeconds: 600 } })).status, 200);
  const byHolder = await harness.request('POST', `/issued-coupons/${id}/release`, { token: bea, body: { orderId: 'A' } });
  const wrongOrder = await harness.request('POST', `/issued-coupons/${id}/release`, { token: service, body: { orderId: 'B' } });
  assert.equal([byHolder.status, wrongOrder.status, wrongOrder.body.code], [403, 409, 'ORDER_MISMATCH']);
  const released = await harness.request('POST', `/issued-coupons/${id}/release`, { token: service, body: { orderId: 'A', holdSequence: 1 } });
  const again = await harness.request('POST', `/issued-coupons/${id}/release`, { token: service, body: { orderId: 'A' } });
  assert.equal([released.status, released.body, again.status, again.body], [200, { issuedCouponId: id, status: 'ISSUED' }, 200, { issuedCouponId: id, status: 'ISSUED' }]);
  // Order A holds again (hold 2); a retry of the first release, naming hold 1, ends nothing new.
  const second = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: bea, body: { orderId: 'A', ttlSeconds: 600 } });
  const retried = await harness.request('POST', `/issued-coupons/${id}/release`, { token: service, body: { orderId: 'A', holdSequence: 1 } });
  assert.equal([second.body.holdSequence, retried.status, retried.body.status], [2, 200, 'ISSUED']);
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token: bea, body: { orderId: 'B' } })).body.code, 'HELD');
  assert.is((await harness.request('POST', `/issued-coupons/${id}/release`, { token: service, body: { orderId: 'A', holdSequence: 2 } })).status, 200);
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token: bea, body: { orderId: 'B' } })).status, 200);
  await harness.drained(couponId);
  const ended = (await harness.eventsOf(couponId)).filter((e): e is Extract<CouponEvent, { type: 'CouponHoldEnded' }> => e.type === 'CouponHoldEnded');
  assert.equal(ended.map((e) => [e.data.orderId, e.data.holdSequence, e.data.reason]), [['A', 1, 'RELEASED'], ['A', 2, 'RELEASED']]);
});

holds('a stranger\'s hold is 404, a bad TTL or no order is 400, and neither changes anything in Redis or the log', async () => {
  const { couponId, id } = await issuedTo('cal');
  const before = await stateOf(couponId);
  const stranger = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: await harness.token('mallory'), body: { orderId: 'A', ttlSeconds: 60 } });
  const cal = await harness.token('cal');
  const tooLong = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: cal, body: { orderId: 'A', ttlSeconds: 86_400 } });
  const noOrder = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: cal, body: { ttlSeconds: 60 } });
  const onBehalf = await harness.request('POST', `/issued-coupons/${id}/hold`, { token: await harness.token('mallory'), body: { orderId: 'A', ttlSeconds: 60, userId: 'cal' } });
  assert.equal([stranger.status, stranger.body.code, tooLong.status, noOrder.status, onBehalf.status], [404, 'ISSUED_COUPON_NOT_FOUND', 400, 400, 403]);
  assert.is(stranger.headers['content-type'], 'application/problem+json');
  assert.is(await stateOf(couponId), before);
});

holds('a coupon lost from Redis comes back with its holds: one in force still blocks another order, one released answers as released, numbering goes on', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5 });
  const service = await harness.token('orders', 'service');
  const id: Record<string, string> = {};
  for (const user of ['ann', 'bob', 'cal']) id[user] = (await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) })).body.issuedCouponId as string;
  const hold = (user: string, orderId: string) => harness.request('POST', `/issued-coupons/${id[user]}/hold`, { token: service, body: { orderId, ttlSeconds: 3_600, userId: user } });
  for (const user of ['ann', 'bob', 'cal']) assert.is((await hold(user, `A-${user}`)).status, 200);
  assert.is((await harness.request('POST', `/issued-coupons/${id.bob}/release`, { token: service, body: { orderId: 'A-bob' } })).status, 200);
  assert.is((await harness.request('POST', `/issued-coupons/${id.cal}/use`, { token: service, body: { orderId: 'A-cal', userId: 'cal' } })).status, 200);
  await harness.drained(couponId);
  await harness.projected();
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, k.holds);

  const blocked = await harness.request('POST', `/issued-coupons/${id.ann}/use`, { token: service, body: { orderId: 'B', userId: 'ann' } });
  assert.equal([blocked.status, blocked.body.code], [409, 'HELD']);
  const released = await harness.request('POST', `/issued-coupons/${id.bob}/release`, { token: service, body: { orderId: 'A-bob' } });
  const confirmed = await harness.request('POST', `/issued-coupons/${id.cal}/release`, { token: service, body: { orderId: 'A-cal' } });
  assert.equal([released.status, released.body.status, confirmed.status, confirmed.body.code], [200, 'ISSUED', 409, 'ALREADY_USED']);
  assert.is((await hold('bob', 'C')).status, 200);
  await harness.drained(couponId);
  const last = (await harness.eventsOf(couponId)).at(-1)!;
  assert.equal([last.type, last.type === 'CouponHeld' && last.data.holdSequence], ['CouponHeld', 4]);
  await harness.projected();
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report));
});

/** Sends `body` to `path` of a process started apart, as `token`. */
async function post(app: AppProcess, path: string, token: string, body: unknown): Promise<number> {
  const answer = await fetch(`${app.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await answer.arrayBuffer();
  return answer.status;
}

holds('1,000 holds left to lapse with 3 processes running the timer, one killed while they are open: each ends exactly once, as EXPIRED', async () => {
  const HOLDS = 1_000;
  const couponId = await harness.createCoupon({ totalQuantity: HOLDS });
  const users = Array.from({ length: HOLDS }, (_, i) => `lapse-${i}`);
  const ids = await Promise.all(users.map(async (user) => {
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
    assert.is(answer.status, 201, answer.text);
    return answer.body.issuedCouponId as string;
  }));
  const others = await Promise.all([spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn' }), spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn' })]);
  const [doomed, survivor] = others as [AppProcess, AppProcess];
  try {
    const service = await harness.token('orders', 'service');
    // Each process takes a third of the holds, the one killed among them.
    const statuses = await Promise.all(ids.map((id, i) => {
      const body = { orderId: `order-${i}`, ttlSeconds: 10, userId: users[i] };
      if (i % 3 === 0) return harness.request('POST', `/issued-coupons/${id}/hold`, { token: service, body }).then((a) => a.status);
      return post(i % 3 === 1 ? doomed : survivor, `/issued-coupons/${id}/hold`, service, body);
    }));
    assert.equal(statuses.filter((s) => s !== 200), []);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await harness.drained(couponId);
    await harness.projected();
    const held = await harness.runtime.db.selectFrom('issued_coupon').select(({ fn }) => fn.countAll<number>().as('n')).where('coupon_id', '=', couponId)
      .where('status', '=', 'HELD').executeTakeFirstOrThrow();
    // Ten seconds are not over yet: every hold is open when the process dies.
    assert.is(Number(held.n), HOLDS);
    await eventually('every hold back to ISSUED in the read model', async () => {
      await harness.drained(couponId);
      return harness.runtime.db.selectFrom('issued_coupon').select(['status']).select(({ fn }) => fn.countAll<number>().as('n'))
        .where('coupon_id', '=', couponId).groupBy('status').execute();
    }, (rows) => rows.length === 1 && rows[0]!.status === 'ISSUED' && Number(rows[0]!.n) === HOLDS, { timeoutMs: 60_000, everyMs: 500 });
    // The timers keep sweeping for a while: an end written twice would show by now.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await harness.drained(couponId);
    const ends = new Map<string, string[]>();
    for (const e of await harness.eventsOf(couponId)) {
      if (e.type === 'CouponHoldEnded') ends.set(e.data.issuedCouponId, [...(ends.get(e.data.issuedCouponId) ?? []), e.data.reason]);
    }
    assert.is(ends.size, HOLDS, 'every hold ended');
    assert.equal([...ends.values()].filter((reasons) => reasons.length !== 1 || reasons[0] !== 'EXPIRED'), [], 'each once, as EXPIRED');
    await harness.projected();
    const report = await harness.audit(couponId);
    assert.ok(auditPassed(report), JSON.stringify(report.violations.slice(0, 5)));
  } finally {
    await Promise.all(others.map((app) => app.stop()));
  }
});

holds.run();
