import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { Harness, type Answer } from '../support/api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { spec } from '../support/spec.ts';

/**
 * `CLIENT PAUSE <ms> ALL` makes Redis stop answering every client while it queues their commands, and run
 * them all when the pause ends: the case of a timeout whose command did happen. It pauses the server for
 * every test file, so this file runs alone.
 */
let harness!: Harness;
const pause = spec('a Redis that stops answering for a while', async () =>
  (harness = await Harness.start({
    relay: true,
    projector: true,
    env: { REDIS_COMMAND_TIMEOUT_MS: '300', ADMISSION_RETRY_MS: '1000', USER_LIMIT: '1000' },
  })));

const pauseRedis = (ms: number) => harness.runtime.redis.call('CLIENT', 'PAUSE', String(ms), 'ALL');
const redisAnswers = () => eventually('Redis to answer again', () => harness.runtime.redis.ping().then(() => true, () => false), (up) => up, { timeoutMs: 10_000 });
const issue = async (couponId: string, user: string) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
const use = async (issuedCouponId: string, user: string) =>
  harness.request('POST', `/issued-coupons/${issuedCouponId}/use`, { token: await harness.token(user), body: { orderId: `o-${user}` } });

/** Who holds what, and which coupons were used, as the log says. */
function logState(events: CouponEvent[]) {
  const holders = new Map<string, string>();
  const issuedTwice: string[] = [];
  const uses = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'CouponIssued') {
      if (holders.has(e.data.userId)) issuedTwice.push(e.data.userId);
      holders.set(e.data.userId, e.data.issuedCouponId);
    }
    if (e.type === 'CouponUsed') uses.set(e.data.issuedCouponId, (uses.get(e.data.issuedCouponId) ?? 0) + 1);
  }
  return { holders, issuedTwice, uses };
}

const codeOf = (a: Answer) => (a.status === 201 || a.status === 200 ? String(a.status) : String(a.body.code));

pause('paused past the retry time under issue and use traffic: no "nothing changed" about a decision that happened, and every retry learns the real outcome', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 150 });
  // Before the pause: 100 users hold a coupon, which they use while Redis is paused.
  const early = await Promise.all(Array.from({ length: 100 }, (_, i) => issue(couponId, `early-${i}`)));
  assert.ok(early.every((a) => a.status === 201));

  await pauseRedis(3_000);
  const [late, uses] = await Promise.all([
    Promise.all(Array.from({ length: 199 }, (_, i) => issue(couponId, `late-${i}`))),
    Promise.all(early.map((a, i) => use(String(a.body.issuedCouponId), `early-${i}`))),
  ]);
  const answered = [...late, ...uses].map(codeOf);
  assert.ok(answered.includes('OUTCOME_UNKNOWN'), `the pause outlasted the retry time for some requests: ${[...new Set(answered)]}`);
  assert.ok(answered.every((c) => ['201', '200', 'OUTCOME_UNKNOWN', 'SOLD_OUT', 'ALREADY_USED'].includes(c)), `only outcomes or OUTCOME_UNKNOWN: ${[...new Set(answered)]}`);
  assert.not.ok(answered.includes('DEPENDENCY_UNAVAILABLE'), 'nobody was told nothing changed');

  // Once Redis answers again, a plain retry tells each client what really happened.
  await redisAnswers();
  await harness.drained(couponId, 60_000);
  const { holders, issuedTwice, uses: used } = logState(await harness.eventsOf(couponId));
  assert.equal(issuedTwice, [], 'nobody was issued twice');
  assert.ok(holders.size <= 150, `not over-issued: ${holders.size}`);
  for (const [i, answer] of late.entries()) {
    const user = `late-${i}`;
    if (answer.status === 201) {
      assert.is(holders.get(user), answer.body.issuedCouponId, `${user}'s 201 is in the log`);
      continue;
    }
    if (answer.body.code !== 'OUTCOME_UNKNOWN') continue;
    const retry = await issue(couponId, user);
    if (holders.has(user)) {
      assert.equal([retry.body.code, retry.body.issuedCouponId], ['ALREADY_ISSUED', holders.get(user)], `${user} learns the coupon the unknown outcome gave them`);
    } else {
      assert.is(retry.body.code, 'SOLD_OUT', `${user} was not issued one, and now there is none left`);
    }
  }
  for (const [i, answer] of uses.entries()) {
    const issuedCouponId = String(early[i]!.body.issuedCouponId);
    if (answer.status === 200) assert.is(used.get(issuedCouponId), 1, `${issuedCouponId}'s 200 is in the log once`);
    if (answer.body.code !== 'OUTCOME_UNKNOWN') continue;
    const retry = await use(issuedCouponId, `early-${i}`);
    if (used.has(issuedCouponId)) assert.is(retry.body.code, 'ALREADY_USED', `${issuedCouponId} was used by the unknown outcome`);
    else assert.is(retry.status, 200);
  }
  assert.ok([...used.values()].every((n) => n === 1), 'no coupon used twice');
  await harness.drained(couponId);
  await harness.projected();
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

pause('paused for less than the retry time: every request gets its exact answer, none a 503', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 50 });
  await pauseRedis(600);
  const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => issue(couponId, `brief-${i}`)));
  const codes = answers.map(codeOf);
  assert.is(codes.filter((c) => c === '201').length, 50);
  assert.is(codes.filter((c) => c === 'SOLD_OUT').length, 30, JSON.stringify([...new Set(codes)]));
  await redisAnswers();
  await harness.drained(couponId);
  const { holders, issuedTwice } = logState(await harness.eventsOf(couponId));
  assert.equal(issuedTwice, []);
  assert.equal(new Set(holders.values()), new Set(answers.filter((a) => a.status === 201).map((a) => a.body.issuedCouponId)));
});

pause('a retried request with its Idempotency-Key gets the first answer again; the key with another body is 422', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5 });
  const token = await harness.token('keyed');
  const first = await harness.request('POST', `/coupons/${couponId}/issue`, { token, headers: { 'idempotency-key': 'issue-once' } });
  const again = await harness.request('POST', `/coupons/${couponId}/issue`, { token, headers: { 'idempotency-key': 'issue-once' } });
  assert.is(first.status, 201);
  assert.equal([again.status, again.headers['idempotent-replayed']], [201, 'true']);
  assert.equal(again.body, first.body);
  const plain = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  assert.equal([plain.body.code, plain.body.issuedCouponId], ['ALREADY_ISSUED', first.body.issuedCouponId]);
  // The issue is remembered in the holder's entry: the same key sent to use is a key reused, and uses nothing.
  const reusedOnUse = await harness.request('POST', `/issued-coupons/${first.body.issuedCouponId}/use`, { token, body: { orderId: 'order-0' }, headers: { 'idempotency-key': 'issue-once' } });
  assert.equal([reusedOnUse.status, reusedOnUse.body.code], [422, 'IDEMPOTENCY_KEY_REUSED']);

  const useWith = (orderId: string) => harness.request('POST', `/issued-coupons/${first.body.issuedCouponId}/use`, { token, body: { orderId }, headers: { 'idempotency-key': 'use-once' } });
  const used = await useWith('order-1');
  const replayed = await useWith('order-1');
  assert.equal([used.status, replayed.status, replayed.headers['idempotent-replayed']], [200, 200, 'true']);
  assert.equal(replayed.body, used.body);
  assert.is((await useWith('order-2')).body.code, 'IDEMPOTENCY_KEY_REUSED');
});

pause('paused past the retry time under cancellations and a revoke: each retry answers as the first would have, and the log holds each change once', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 120 });
  const holders = await Promise.all(Array.from({ length: 120 }, async (_, i) => {
    const answer = await issue(couponId, `cr-${i}`);
    return { user: `cr-${i}`, id: String(answer.body.issuedCouponId) };
  }));
  // The first 60 use theirs before the pause; the pause catches their cancellations and a revoke of the 60 unused.
  assert.ok((await Promise.all(holders.slice(0, 60).map((h) => use(h.id, h.user)))).every((a) => a.status === 200));
  const cancel = async (h: { user: string; id: string }) =>
    harness.request('POST', `/issued-coupons/${h.id}/cancel-use`, { token: await harness.token('orders', 'service'), body: { orderId: `o-${h.user}` } });
  const revoke = async () => harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: await harness.token('admin', 'admin') });
  await pauseRedis(3_000);
  const [cancels, revoked] = await Promise.all([Promise.all(holders.slice(0, 60).map(cancel)), revoke()]);
  const answered = [...cancels, revoked].map(codeOf);
  assert.ok(answered.includes('OUTCOME_UNKNOWN'), `the pause outlasted the retry time: ${[...new Set(answered)]}`);
  assert.ok(answered.every((c) => ['200', 'OUTCOME_UNKNOWN'].includes(c)), `only outcomes or OUTCOME_UNKNOWN: ${[...new Set(answered)]}`);

  await redisAnswers();
  for (const [i, answer] of cancels.entries()) {
    if (answer.status === 200) continue;
    const retry = await cancel(holders[i]!);
    assert.equal([retry.status, retry.body.status], [200, 'ISSUED'], `${holders[i]!.id}: the retried cancellation answers as the first would have`);
  }
  const again = await revoke();
  assert.equal([again.status, again.body.status], [200, 'CLOSED']);
  await harness.drained(couponId, 60_000);
  const events = await harness.eventsOf(couponId);
  const cancelled = events.flatMap((e) => (e.type === 'CouponUseCancelled' ? [e.data.issuedCouponId] : []));
  const revokedIds = events.flatMap((e) => (e.type === 'CouponsRevoked' ? e.data.revoked.map((r) => r.issuedCouponId) : []));
  assert.equal(cancelled.sort(), holders.slice(0, 60).map((h) => h.id).sort(), 'each use cancelled exactly once');
  assert.is(new Set(revokedIds).size, revokedIds.length, 'no coupon revoked twice');
  // The revoke's first step (closing) went unanswered, so it stopped there; run again after the cancellations,
  // it finds all 120 unused.
  assert.equal([revoked.body.code, again.body.revokedCount, revokedIds.sort()], ['OUTCOME_UNKNOWN', 120, holders.map((h) => h.id).sort()]);
  await harness.projected();
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

pause('paused during an allow-list upload: 503, and the list in force is the old one, whole', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, eligibility: { allowList: true } });
  const admin = await harness.token('admin', 'admin');
  const put = (rawBody: string) => harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, { token: admin, rawBody, headers: { 'content-type': 'text/csv' } });
  assert.is((await put('old-1\nold-2\n')).status, 200);
  const [cut] = await Promise.all([put(Array.from({ length: 5_000 }, (_, i) => `new-${i}`).join('\n')), pauseRedis(3_000)]);
  assert.equal([cut.status, cut.body.code], [503, 'OUTCOME_UNKNOWN']);
  await redisAnswers();
  assert.equal([(await issue(couponId, 'new-1')).body.code, (await issue(couponId, 'old-1')).status], ['NOT_ELIGIBLE', 201]);
});

pause.run();
