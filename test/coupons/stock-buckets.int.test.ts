import * as assert from 'uvu/assert';
import { homeBucket, StockBuckets } from '../../src/coupons/admission/stock-buckets.ts';
import { bucketGiveScript } from '../../src/coupons/admission/bucket-scripts.ts';
import { ScriptRunner } from '../../src/coupons/admission/script-runner.ts';
import { keysOfBucket } from '../../src/coupons/admission/keys.ts';
import { windowScript } from '../../src/coupons/admission/window-script.ts';
import { internalRequest } from '../../src/idempotency/admission-request.ts';
import { uuidv7 } from '../../src/ids/ids.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { Harness, type Answer } from '../support/api-harness.ts';
import { assertLogRebuildsLiveRows } from '../support/replayed-rows.ts';
import { eventually } from '../support/eventually.ts';
import { spec } from '../support/spec.ts';
import { usersOfBucket } from '../support/bucket-users.ts';
import { AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { logAndStores } from '../../src/runtime/runtime.ts';

let harness!: Harness;
const buckets = spec('stock buckets', async () => (harness = await Harness.start({ relay: true, projector: true })));

const K = 3;
const sequenceOf = (issuedCouponId: unknown) => Number(String(issuedCouponId).split('.')[1]);
const usersOf = (prefix: string, bucket: number, count: number) => usersOfBucket(prefix, bucket, count, K);
const issue = async (couponId: string, user: string): Promise<Answer> => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
const typesOf = (events: CouponEvent[]) => events.map((e) => e.type);

buckets('4,000 simultaneous requests from 2,000 users for 300 coupons in 3 buckets: exactly 300 win, once each, numbered 1..300, no SOLD_OUT before the last win began, and the log agrees', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 300, buckets: K });
  const users = Array.from({ length: 2_000 }, (_, i) => `bucket-racer-${i}`);
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  const timed = async (token: string) => {
    const sent = performance.now();
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
    return { answer, sent, answered: performance.now() };
  };
  const answers = await Promise.all([...tokens, ...tokens].map(timed));

  const won = answers.filter((a) => a.answer.status === 201);
  const codes = new Set(answers.filter((a) => a.answer.status !== 201).map((a) => String(a.answer.body.code)));
  assert.is(won.length, 300, 'exactly the quantity is issued');
  assert.is(new Set(won.map((a) => a.answer.body.userId)).size, 300, 'no user won twice');
  assert.ok([...codes].every((c) => c === 'SOLD_OUT' || c === 'ALREADY_ISSUED'), `only SOLD_OUT or ALREADY_ISSUED: ${[...codes].join(', ')}`);
  assert.equal(won.map((a) => sequenceOf(a.answer.body.issuedCouponId)).sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i + 1));
  // A SOLD_OUT answered before some winning request was even sent was false for its whole life.
  const lastWinSent = Math.max(...won.map((a) => a.sent));
  const early = answers.filter((a) => a.answer.body.code === 'SOLD_OUT' && a.answered < lastWinSent);
  assert.is(early.length, 0, `${early.length} SOLD_OUT answered before the last winner asked`);
  const homes = new Set(won.map((a) => homeBucket(String(a.answer.body.userId), K)));
  assert.is(homes.size, K, 'winners come from every bucket');

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  const issued = events.filter((e) => e.type === 'CouponIssued');
  assert.is(issued.length, 300, 'the log holds exactly 300 CouponIssued');
  assert.is(new Set(issued.map((e) => e.data.bucket)).size, K, 'issued in every bucket');
  const coupon = await harness.request('GET', `/coupons/${couponId}`, { token: tokens[0] });
  assert.is(coupon.body.remainingQuantity, 0);
  assert.is(coupon.body.status, 'SOLD_OUT');
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('askers of one bucket drain every bucket through transfers: all 12 coupons go to them, and only then SOLD_OUT', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 12, buckets: K });
  const askers = usersOf(`one-bucket-${couponId.slice(-6)}`, 1, 13);
  for (const user of askers.slice(0, 12)) {
    const answer = await issue(couponId, user);
    assert.is(answer.status, 201, `${user}: ${answer.text}`);
  }
  const last = await issue(couponId, askers[12]!);
  assert.is(last.body.code, 'SOLD_OUT');
  // Every other bucket's share moved to bucket 1 along the way.
  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  const received = events.filter((e) => e.type === 'CouponStockReceived' && e.data.toBucket === 1);
  assert.ok(received.length >= 3, `bucket 1 took stock in at least 3 times (its share, and from buckets 0 and 2): ${received.length}`);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a transfer whose asker died before taking it in is taken in by the relay; its stock is issued, and the log shows it moved then received', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K });
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  const layout = (await new StockBuckets(runner).layoutOf(couponId))!;
  const transferId = uuidv7();
  const given = await bucketGiveScript(runner, layout, transferId, 0, 2, 5, uuidv7(), {});
  assert.ok(given, 'bucket 0 gave');
  const taken = () => harness.runtime.redis.hexists(keysOfBucket(layout, 2).coupon, `x:${transferId}`);
  await eventually('bucket 2 to take the transfer in', taken, (n) => n === 1, { timeoutMs: 30_000 });
  for (const user of usersOf(`orphan-${couponId.slice(-6)}`, 2, 15)) assert.is((await issue(couponId, user)).status, 201);
  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  const moved = events.findIndex((e) => e.type === 'CouponStockMoved' && e.data.transferId === transferId);
  const received = events.findIndex((e) => e.type === 'CouponStockReceived' && e.data.transferId === transferId);
  assert.ok(moved >= 0 && received > moved, `moved at ${moved}, received at ${received}: ${typesOf(events).join(' ')}`);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a holder in any bucket sees their coupon, uses it once, and the counts add up in Redis and the read model', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 9, buckets: K });
  const holders = [0, 1, 2].map((b) => usersOf(`use-${couponId.slice(-6)}`, b, 1)[0]!);
  const ids: string[] = [];
  for (const user of holders) ids.push(String((await issue(couponId, user)).body.issuedCouponId));
  for (const [i, user] of holders.entries()) {
    const token = await harness.token(user);
    const mine = await harness.request('GET', `/coupons/${couponId}`, { token });
    assert.is(mine.status, 200);
    const used = await harness.request('POST', `/issued-coupons/${ids[i]}/use`, { token, body: { orderId: `order-${i}` } });
    assert.is(used.status, 200, used.text);
    const again = await harness.request('POST', `/issued-coupons/${ids[i]}/use`, { token, body: { orderId: `order-${i}` } });
    assert.is(again.body.code, 'ALREADY_USED');
  }
  const stranger = await harness.request('POST', `/issued-coupons/${ids[1]}/use`, { token: await harness.token(holders[0]!), body: {} });
  assert.is(stranger.body.code, 'ISSUED_COUPON_NOT_FOUND', 'another holder cannot use it');
  await harness.drained(couponId);
  await harness.projected();
  // The read model sums the buckets' counts.
  const row = await harness.request('GET', `/admin/coupons/${couponId}`, { token: await harness.token('admin', 'admin') });
  assert.equal([row.body.issuedCount, row.body.usedCount, row.body.buckets], [3, 3, K]);
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('closing a bucketed coupon closes every bucket, and its close follows every issue in the log', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K });
  for (let b = 0; b < K; b++) assert.is((await issue(couponId, usersOf(`close-${couponId.slice(-6)}`, b, 1)[0]!)).status, 201);
  const admin = await harness.token('admin', 'admin');
  const closed = await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin });
  assert.is(closed.status, 200, closed.text);
  for (let b = 0; b < K; b++) assert.is((await issue(couponId, usersOf(`late-${couponId.slice(-6)}`, b, 1)[0]!)).body.code, 'COUPON_CLOSED', `bucket ${b}`);
  await harness.drained(couponId);
  const types = typesOf(await harness.eventsOf(couponId));
  assert.ok(types.lastIndexOf('CouponIssued') < types.indexOf('CouponIssuanceClosed'), types.join(' '));
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('stock added to a sold-out bucketed coupon is issued to askers of every bucket, and then it is sold out again', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 6, buckets: K });
  const tag = couponId.slice(-6);
  for (const user of usersOf(`first-${tag}`, 1, 6)) assert.is((await issue(couponId, user)).status, 201);
  for (let b = 0; b < K; b++) assert.is((await issue(couponId, usersOf(`sold-${tag}`, b, 1)[0]!)).body.code, 'SOLD_OUT', `bucket ${b} knows it is sold out`);
  const admin = await harness.token('admin', 'admin');
  const added = await harness.request('POST', `/admin/coupons/${couponId}/stock`, { token: admin, body: { add: 3 } });
  assert.is(added.status, 200, added.text);
  // The askers refused before, one per bucket, now get the three added.
  for (let b = 0; b < K; b++) assert.is((await issue(couponId, usersOf(`sold-${tag}`, b, 1)[0]!)).status, 201, `bucket ${b}`);
  const coupon = await harness.request('GET', `/coupons/${couponId}`, { token: admin });
  assert.equal([coupon.body.totalQuantity, coupon.body.remainingQuantity, coupon.body.status], [9, 0, 'SOLD_OUT']);
  assert.is((await issue(couponId, usersOf(`after-${tag}`, 2, 1)[0]!)).body.code, 'SOLD_OUT');
  await harness.drained(couponId);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('bad bucket counts are 400', async () => {
  const admin = await harness.token('admin', 'admin');
  for (const body of [{ buckets: 65 }, { buckets: 0 }, { buckets: 6 }, { buckets: 2.5 }]) {
    const refused = await harness.request('POST', '/admin/coupons', {
      token: admin,
      body: { name: 'x', totalQuantity: 5, discount: { type: 'PERCENT', value: 5 }, issueStartAt: '2026-01-01T00:00:00Z', issueEndAt: '2027-01-01T00:00:00Z', validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-06-01T00:00:00Z', ...body },
    });
    assert.is(refused.status, 400, JSON.stringify(body));
  }
});

/** Each bucket's answer to a new asker of it. */
/** One asker of each bucket, in turn; `keyed`: with an Idempotency-Key, so Redis answers rather than this process's sold-out memory. */
const askEvery = async (couponId: string, prefix: string, claims?: Record<string, string>, keyed = false) => {
  const codes: unknown[] = [];
  for (let b = 0; b < K; b++) {
    const user = usersOf(`${prefix}-${couponId.slice(-6)}`, b, 1)[0]!;
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user, 'user', undefined, claims), headers: keyed ? { 'Idempotency-Key': user } : {} });
    codes.push(answer.status === 201 ? 201 : answer.body.code);
  }
  return codes;
};
const every = (answer: unknown) => Array.from({ length: K }, () => answer);

buckets('moving the window of a bucketed coupon reaches every bucket: an ended window moved out admits in every bucket, one brought in ends issuing in every bucket, each bucket announces what it took, and the log rebuilds it', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K, issueEndAt: new Date(Date.now() + 1_000).toISOString() });
  const admin = await harness.token('admin', 'admin');
  const patch = (issueEndAt: number) => harness.request('PATCH', `/admin/coupons/${couponId}`, { token: admin, body: { issueEndAt: new Date(issueEndAt).toISOString() } });
  await eventually('the window ended in every bucket', () => askEvery(couponId, `ended-${Date.now()}`), (codes) => codes.every((c) => c === 'ISSUE_ENDED'), { timeoutMs: 5_000, everyMs: 200 });
  assert.is((await patch(Date.now() + 3_600_000)).status, 200);
  assert.equal(await askEvery(couponId, 'reopened'), every(201), 'moved out: every bucket admits again');
  assert.is((await patch(Date.now() + 1_500)).status, 200);
  assert.equal(await askEvery(couponId, 'before-end'), every(201));
  await eventually('brought in: issuing ends in every bucket', () => askEvery(couponId, `after-end-${Date.now()}`), (codes) => codes.every((c) => c === 'ISSUE_ENDED'), { timeoutMs: 5_000, everyMs: 200 });
  await harness.drained(couponId);
  const changes = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssueWindowChanged');
  assert.is(changes.filter((e) => e.data.bucket === undefined).length, 2, 'the coupon\'s own two changes');
  for (let b = 1; b < K; b++) assert.ok(changes.some((e) => e.data.bucket === b && e.data.revision === 2), `bucket ${b} announced the second change`);
  await harness.projected();
  const row = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.is(Date.parse(String(row.body.issueEndAt)), Date.parse(changes.find((e) => e.data.bucket === undefined && e.data.revision === 2)!.data.issueEndAt));
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('claims required of a bucketed coupon are required in every bucket, and lifted in every bucket', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K });
  const admin = await harness.token('admin', 'admin');
  const put = (requiredClaims: unknown) => harness.request('PUT', `/admin/coupons/${couponId}/eligibility`, { token: admin, body: { requiredClaims } });
  assert.is((await put({ tier: ['gold'] })).status, 200);
  assert.equal(await askEvery(couponId, 'silver', { tier: 'silver' }), every('NOT_ELIGIBLE'));
  assert.equal(await askEvery(couponId, 'gold', { tier: 'gold' }), every(201));
  assert.is((await put(null)).status, 200);
  assert.equal(await askEvery(couponId, 'silver', { tier: 'silver' }), every(201), 'the refused askers are admitted once lifted');
  await harness.drained(couponId);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a sold-out bucketed coupon requiring claims answers SOLD_OUT to anyone once each bucket found it sold out, the unqualified too, as a coupon not split does', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: K, buckets: K });
  const put = await harness.request('PUT', `/admin/coupons/${couponId}/eligibility`, { token: await harness.token('admin', 'admin'), body: { requiredClaims: { tier: ['gold'] } } });
  assert.is(put.status, 200);
  assert.equal(await askEvery(couponId, 'gold', { tier: 'gold' }), every(201));
  assert.equal(await askEvery(couponId, 'gold-late', { tier: 'gold' }, true), every('SOLD_OUT'));
  assert.equal(await askEvery(couponId, 'silver', { tier: 'silver' }, true), every('SOLD_OUT'), 'each bucket, having found the coupon sold out');
  assert.equal(await askEvery(couponId, 'silver-unkeyed', { tier: 'silver' }), every('SOLD_OUT'), 'and the sold-out memory alike');
});

buckets('a window change whose process died before it reached the other buckets is carried there by the relay before the change is sent', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K });
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  const end = new Date(Date.now() + 1_000).toISOString();
  const changed = await windowScript(runner, couponId, { issueEndAt: end }, uuidv7(), {}, internalRequest());
  assert.is(changed.outcome, 'WINDOW_CHANGED');
  await harness.drained(couponId);
  await eventually('every bucket ended at the new end', () => askEvery(couponId, `orphan-${Date.now()}`), (codes) => codes.every((c) => c === 'ISSUE_ENDED'), { timeoutMs: 5_000, everyMs: 200 });
  const events = await harness.eventsOf(couponId);
  for (let b = 1; b < K; b++) assert.ok(events.some((e) => e.type === 'CouponIssueWindowChanged' && e.data.bucket === b), `bucket ${b} took the change`);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a bucket lost with its node is never made again empty: its holders get 503, not a second coupon; stock moved toward it does not stop the relay; the other buckets go on', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K });
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  const layout = (await new StockBuckets(runner).layoutOf(couponId))!;
  await harness.drained(couponId);
  const created = (await harness.eventsOf(couponId)).find((e) => e.type === 'CouponCreated')!;
  assert.equal(created.data.bucketShards, layout.shards, 'the log records where each bucket lives, for a restore');
  const [holder, later] = usersOf(`lost-${couponId.slice(-6)}`, 2, 2);
  assert.is((await issue(couponId, holder!)).status, 201);
  await harness.drained(couponId);
  const lost = keysOfBucket(layout, 2);
  await harness.runtime.redis.del(lost.coupon, lost.holders, lost.used);
  for (const user of [holder!, later!]) {
    const answer = await issue(couponId, user);
    assert.is(answer.status, 503, `${user}: ${answer.text}`);
  }
  // Stock moved toward the lost bucket (as an asker of it would) is not taken in, and the relay carries on.
  const moved = await bucketGiveScript(runner, layout, uuidv7(), 1, 2, 1, uuidv7(), {});
  assert.ok(moved && moved !== 'OPENED');
  await harness.drained(couponId);
  assert.is(await harness.runtime.redis.exists(lost.coupon), 0, 'the lost bucket was not made again');
  for (const bucket of [0, 1]) assert.is((await issue(couponId, usersOf(`alive-${couponId.slice(-6)}`, bucket, 1)[0]!)).status, 201, `bucket ${bucket}`);
  const issued = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued').map((e) => e.data.userId);
  assert.is(issued.filter((u) => u === holder).length, 1, 'the holder was issued once');
});

buckets('a use in any bucket is cancelled by the order system in its holder\'s bucket: the same answer on a retry, the order checked, the counts summed, and the coupon usable again', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 9, buckets: K });
  const orders = await harness.token('orders', 'service');
  const admin = await harness.token('admin', 'admin');
  const holders = [0, 1, 2].map((b) => usersOf(`cancel-${couponId.slice(-6)}`, b, 1)[0]!);
  const cancel = (id: string, orderId: string) => harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: orders, body: { orderId } });
  const ids: string[] = [];
  for (const [i, user] of holders.entries()) {
    const id = String((await issue(couponId, user)).body.issuedCouponId);
    ids.push(id);
    assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token: await harness.token(user), body: { orderId: `order-${i}` } })).status, 200);
  }
  for (const [i, id] of ids.entries()) {
    assert.equal((await cancel(id, 'another-order')).body.code, 'ORDER_MISMATCH', `bucket ${i}`);
    const first = await cancel(id, `order-${i}`);
    assert.equal([first.status, first.body], [200, { issuedCouponId: id, status: 'ISSUED' }], first.text);
    const again = await cancel(id, `order-${i}`);
    assert.equal([again.status, again.body], [200, first.body], 'the same cancellation, the same answer');
  }
  const unissued = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((n) => !ids.some((id) => sequenceOf(id) === n))!;
  assert.equal((await cancel(`${couponId}.${String(unissued).padStart(8, '0')}`, 'o')).body.code, 'NOT_USED', 'a sequence nobody uses');
  assert.equal((await cancel(`${couponId}.00000010`, 'o')).body.code, 'ISSUED_COUPON_NOT_FOUND', 'beyond the total');
  const reused = await harness.request('POST', `/issued-coupons/${ids[2]}/use`, { token: await harness.token(holders[2]!), body: { orderId: 'order-again' } });
  assert.is(reused.status, 200, 'usable again after the cancellation');
  await harness.drained(couponId);
  const cancelled = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponUseCancelled');
  // Buckets' outboxes reach the log side by side, so their events interleave in any order.
  const byBucket = cancelled.map((e) => [e.data.bucket, e.data.cancelSequence]).sort(([a], [b]) => Number(a) - Number(b));
  assert.equal(byBucket, [[0, 1], [1, 1], [2, 1]], 'each cancelled in its holder\'s bucket, numbered there');
  await harness.projected();
  const row = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.equal([row.body.issuedCount, row.body.usedCount], [3, 1], row.text);
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('revoke-unused on a bucketed coupon, racing 300 uses by holders of every bucket: each coupon ends used or revoked, never both, and the totals add up', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 600, buckets: K });
  const users = Array.from({ length: 600 }, (_, i) => `revoke-${couponId.slice(-6)}-${i}`);
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  const ids = await Promise.all(tokens.map(async (token) => String((await harness.request('POST', `/coupons/${couponId}/issue`, { token })).body.issuedCouponId)));
  assert.is(new Set(ids).size, 600, ids.find((id) => !id.includes('.')));
  const admin = await harness.token('admin', 'admin');
  const [revoke, ...uses] = await Promise.all([
    harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin }),
    ...ids.slice(0, 300).map((id, i) => harness.request('POST', `/issued-coupons/${id}/use`, { token: tokens[i]!, body: { orderId: `o-${i}` } })),
  ]);
  assert.is(revoke!.status, 200, revoke!.text);
  const used = uses.filter((u) => u.status === 200).length;
  assert.ok(uses.every((u) => u.status === 200 || u.body.code === 'COUPON_REVOKED'), [...new Set(uses.map((u) => u.text))].join(' | '));
  assert.is(revoke!.body.revokedCount, 600 - used, `${used} used before the revoke reached them`);
  for (const [i, id] of ids.entries()) {
    if (i >= 300 || uses[i]!.status !== 200) assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token: tokens[i]!, body: {} })).body.code, 'COUPON_REVOKED', id);
  }
  const again = await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin });
  assert.is(again.body.revokedCount, 600 - used, 'a second run revokes nothing more');
  await harness.drained(couponId);
  const revokedEvents = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponsRevoked');
  assert.equal([...new Set(revokedEvents.map((e) => e.data.bucket))].sort(), [0, 1, 2], 'every bucket revoked its own holders');
  await harness.projected();
  const row = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.equal([row.body.revokedCount, row.body.usedCount], [600 - used, used], row.text);
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a cancelled use of a bucketed coupon after revoke-unused reached its bucket leaves it REVOKED', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 9, buckets: K });
  const user = usersOf(`cancel-revoked-${couponId.slice(-6)}`, 2, 1)[0]!;
  const token = await harness.token(user);
  const id = String((await issue(couponId, user)).body.issuedCouponId);
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: { orderId: 'o-1' } })).status, 200);
  const admin = await harness.token('admin', 'admin');
  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/revoke-unused`, { token: admin })).body.revokedCount, 0);
  const cancelled = await harness.request('POST', `/issued-coupons/${id}/cancel-use`, { token: await harness.token('orders', 'service'), body: { orderId: 'o-1' } });
  assert.equal([cancelled.status, cancelled.body.status], [200, 'REVOKED'], cancelled.text);
  assert.is((await harness.request('POST', `/issued-coupons/${id}/use`, { token, body: {} })).body.code, 'COUPON_REVOKED');
  await harness.drained(couponId);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a bucketed coupon lost from Redis with every bucket is restored from the log where it lived: holders keep their coupons and uses, its window carries on, and it sells out exactly once', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 12, buckets: K });
  const tag = couponId.slice(-6);
  const admin = await harness.token('admin', 'admin');
  const end = new Date(Date.now() + 7_200_000).toISOString();
  assert.is((await harness.request('PATCH', `/admin/coupons/${couponId}`, { token: admin, body: { issueEndAt: end } })).status, 200);
  const holders = [0, 1, 2].flatMap((b) => usersOf(`restore-${tag}`, b, 2));
  const ids = new Map<string, string>();
  for (const user of holders) ids.set(user, String((await issue(couponId, user)).body.issuedCouponId));
  for (const user of [holders[1]!, holders[4]!]) {
    assert.is((await harness.request('POST', `/issued-coupons/${ids.get(user)}/use`, { token: await harness.token(user), body: { orderId: `o-${user}` } })).status, 200);
  }
  await harness.drained(couponId);
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  const layout = (await new StockBuckets(runner).layoutOf(couponId))!;
  const lose = (b: number) => harness.runtime.redis.del(keysOfBucket(layout, b).coupon, keysOfBucket(layout, b).holders, keysOfBucket(layout, b).used);
  // Bucket 2 goes first, so stock then moved toward it stays in flight: the restore must land it there.
  await lose(2);
  const moved = await bucketGiveScript(runner, layout, uuidv7(), 1, 2, 1, uuidv7(), {});
  if (typeof moved !== 'object') throw new Error(`bucket 1 gave nothing: ${moved}`);
  await harness.drained(couponId);
  await harness.projected();
  await lose(0);
  await lose(1);
  // A sold-out mark arriving late (an asker's, read before the loss) makes no key: bucket 0 stays lost, and so does a
  // key holding only such a mark, as an older process wrote it.
  assert.equal((await runner.decide('bucketSoldOut', [keysOfBucket(layout, 0).coupon, 12])).reply, ['NO_BUCKET']);
  assert.is(await harness.runtime.redis.exists(keysOfBucket(layout, 0).coupon), 0, 'the late mark made no key');
  await harness.runtime.redis.hset(keysOfBucket(layout, 0).coupon, 'so', 12);

  // Each holder is answered with their own coupon, in whichever bucket; a used one stays used.
  for (const user of holders) {
    const again = await issue(couponId, user);
    assert.equal([again.status, again.body.code, again.body.issuedCouponId], [409, 'ALREADY_ISSUED', ids.get(user)], again.text);
  }
  const reused = await harness.request('POST', `/issued-coupons/${ids.get(holders[4]!)}/use`, { token: await harness.token(holders[4]!), body: { orderId: 'again' } });
  assert.is(reused.body.code, 'ALREADY_USED');
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.is(view.body.issueEndAt, end, 'the moved window came back');
  // The rest of the stock, and nothing more, goes to new askers of every bucket.
  const askers = [0, 1, 2].flatMap((b) => usersOf(`after-restore-${tag}`, b, 4));
  const answers = await Promise.all(askers.map((user) => issue(couponId, user)));
  const won = answers.filter((a) => a.status === 201).map((a) => sequenceOf(a.body.issuedCouponId));
  assert.is(won.length, 6, answers.map((a) => a.text).join(' | '));
  const all = [...[...ids.values()].map(sequenceOf), ...won].sort((a, b) => a - b);
  assert.equal(all, Array.from({ length: 12 }, (_, i) => i + 1), 'every sequence once');
  assert.ok(answers.every((a) => a.status === 201 || a.body.code === 'SOLD_OUT'));
  await harness.drained(couponId);
  const received = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponStockReceived' && e.data.transferId === moved.transferId);
  assert.is(received.length, 1, 'the stock in flight was taken in by the restore, once');
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

buckets('a bucketed coupon rebuilt without its buckets is not written as a coupon not split (its sequences would be issued again); read whole, it is', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 12, buckets: K });
  for (const b of [0, 1, 2]) assert.is((await issue(couponId, usersOf(`unsplit-${couponId.slice(-6)}`, b, 1)[0]!)).status, 201);
  await harness.drained(couponId);
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  const layout = (await new StockBuckets(runner).layoutOf(couponId))!;
  for (const b of [0, 1, 2]) await harness.runtime.redis.del(keysOfBucket(layout, b).coupon, keysOfBucket(layout, b).holders, keysOfBucket(layout, b).used);
  const recovery = new AdmissionRecovery(logAndStores(harness.runtime));
  const rebuilt = await recovery.rebuild([couponId]);
  const whole = rebuilt.get(couponId)!;
  assert.ok(whole.stock, 'folded from its own events, it has its buckets');
  assert.equal(await recovery.install(new Map([[couponId, { ...whole, stock: undefined }]])), [], 'without them, nothing is written');
  assert.is(await harness.runtime.redis.exists(keysOfBucket(layout, 0).coupon), 0);
  assert.equal(await recovery.install(rebuilt), [couponId]);
});

buckets('a bucketed coupon lost only in part (one bucket left) is not rebuilt from the log: it answers 503, never a second coupon', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 12, buckets: K });
  const holder = usersOf(`partial-${couponId.slice(-6)}`, 0, 1)[0]!;
  assert.is((await issue(couponId, holder)).status, 201);
  await harness.drained(couponId);
  // A restore asks the read model which coupons exist.
  await harness.projected();
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  const layout = (await new StockBuckets(runner).layoutOf(couponId))!;
  const head = keysOfBucket(layout, 0);
  await harness.runtime.redis.del(head.coupon, head.holders, head.used);
  const answer = await issue(couponId, holder);
  assert.is(answer.status, 503, answer.text);
  assert.is(await harness.runtime.redis.exists(head.coupon), 0, 'nothing was written');
});

buckets('a full restore begun from the read models folds a bucketed coupon from its own events: each bucket back where it lived, holders kept, and a closed coupon closed in every bucket', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 9, buckets: K });
  const tag = couponId.slice(-6);
  const holders = [0, 1, 2].flatMap((b) => usersOf(`snap-${tag}`, b, 1));
  const ids = new Map<string, string>();
  for (const user of holders) ids.set(user, String((await issue(couponId, user)).body.issuedCouponId));
  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: await harness.token('admin', 'admin') })).status, 200);
  await harness.drained(couponId);
  await harness.projected();
  const { redis, kafka, config } = harness.runtime;
  const layout = (await new StockBuckets(new ScriptRunner(redis, config.admission)).layoutOf(couponId))!;
  for (const b of [0, 1, 2]) await redis.del(keysOfBucket(layout, b).coupon, keysOfBucket(layout, b).holders, keysOfBucket(layout, b).used);

  const recovery = new AdmissionRecovery(logAndStores(harness.runtime));
  assert.ok((await recovery.restore()).includes(couponId));
  const logged = [...(await kafka.endOffsets(config.kafka.topic)).values()].reduce((a, b) => a + Number(b), 0);
  assert.ok(recovery.eventsRead < logged / 2, `begun from the read models: ${recovery.eventsRead} of ${logged} events read`);
  for (const b of [0, 1, 2]) {
    const [bk, st] = await redis.hmget(keysOfBucket(layout, b).coupon, 'bk', 'st');
    assert.equal([b === 0 ? bk : String(K), st], [String(K), 'CLOSED'], `bucket ${b}`);
  }
  for (const user of holders) {
    const again = await issue(couponId, user);
    assert.equal([again.body.code, again.body.issuedCouponId], ['ALREADY_ISSUED', ids.get(user)], again.text);
  }
  const newcomers = [0, 1, 2].flatMap((b) => usersOf(`snap-new-${tag}`, b, 1));
  for (const user of newcomers) assert.is((await issue(couponId, user)).body.code, 'COUPON_CLOSED');
});

buckets.run();
