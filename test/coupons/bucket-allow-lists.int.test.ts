import * as assert from 'uvu/assert';
import { allowListScript } from '../../src/coupons/admission/allow-list-script.ts';
import { keysOfBucket } from '../../src/coupons/admission/keys.ts';
import { ScriptRunner } from '../../src/coupons/admission/script-runner.ts';
import { StockBuckets } from '../../src/coupons/admission/stock-buckets.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { Harness, type Answer } from '../support/api-harness.ts';
import { usersOfBucket } from '../support/bucket-users.ts';
import { assertLogRebuildsLiveRows } from '../support/replayed-rows.ts';
import { spec } from '../support/spec.ts';

// A file of its own: a coupon with an allow-list is replayed rather than begun from the read models, which the
// snapshot-restore spec of stock-buckets.int.test.ts counts on for its coupons.
let harness!: Harness;
const lists = spec('allow-lists on stock buckets', async () => (harness = await Harness.start({ relay: true, projector: true })));

const K = 3;
const usersOf = (prefix: string, bucket: number, count: number) => usersOfBucket(prefix, bucket, count, K);
const issue = async (couponId: string, user: string): Promise<Answer> => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
const typesOf = (events: CouponEvent[]) => events.map((e) => e.type);
const every = (answer: unknown) => Array.from({ length: K }, () => answer);
const putList = async (couponId: string, ids: string[]) => harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, {
  token: await harness.token('admin', 'admin'), rawBody: ids.map((id) => `${id}\n`).join(''), headers: { 'content-type': 'text/csv' },
});
/** Each user's answer to their issue, in order (201, or the problem's code). */
const answersOf = (couponId: string, users: string[]) => Promise.all(users.map(async (user) => {
  const answer = await issue(couponId, user);
  return answer.status === 201 ? 201 : answer.body.code;
}));
/** `n` users of every bucket, bucket by bucket. */
const ofEvery = (prefix: string, n: number) => Array.from({ length: K }, (_, b) => usersOf(prefix, b, n));

lists('an allow-list on a bucketed coupon holds in every bucket: nobody before an upload, then its members and nobody else, a replacement and a removal reach every bucket, each bucket announces its share, and the log rebuilds it', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K, eligibility: { allowList: true } });
  const tag = couponId.slice(-6);
  const first = ofEvery(`listed-${tag}`, 2);
  const second = ofEvery(`relisted-${tag}`, 2);
  assert.equal(await answersOf(couponId, first.map((u) => u[0]!)), every('NOT_ELIGIBLE'), 'the empty list, version 0, in every bucket');
  const listed = await putList(couponId, first.flat());
  assert.equal([listed.status, listed.body.allowList], [200, { version: 1, size: 6 }], listed.text);
  assert.equal(await answersOf(couponId, first.map((u) => u[0]!)), every(201), 'a member of each bucket');
  assert.equal(await answersOf(couponId, ofEvery(`stranger-${tag}`, 1).flat()), every('NOT_ELIGIBLE'), 'nobody else, in any bucket');
  assert.is((await putList(couponId, second.flat())).status, 200);
  assert.equal(await answersOf(couponId, first.map((u) => u[1]!)), every('NOT_ELIGIBLE'), 'the first list\'s members, in every bucket, once replaced');
  assert.equal(await answersOf(couponId, second.map((u) => u[0]!)), every(201));
  const removed = await harness.request('DELETE', `/admin/coupons/${couponId}/allow-list`, { token: await harness.token('admin', 'admin') });
  assert.is(removed.status, 204);
  assert.equal(await answersOf(couponId, first.map((u) => u[1]!)), every(201), 'removed: anyone, in every bucket');

  await harness.drained(couponId);
  const announced = (await harness.eventsOf(couponId)).flatMap((e) => (e.type === 'CouponAllowListReplaced' && e.data.bucket !== undefined ? [e.data] : []));
  for (let b = 1; b < K; b++) {
    const own = announced.filter((d) => d.bucket === b).map((d) => [d.version, d.size]);
    assert.equal(own, [[1, 2], [2, 2], [null, 0]], `bucket ${b} announced each change with its share`);
  }
  await harness.projected();
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: await harness.token('admin', 'admin') });
  assert.equal((view.body.eligibility as { allowList: unknown }).allowList, null, 'the read model shows the coupon\'s own list, not a bucket\'s share');
  await assertLogRebuildsLiveRows(harness, couponId);
});

lists('an allow-list put in force whose process died before it reached the other buckets is carried there by the relay before the change is sent', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K, eligibility: { allowList: true } });
  const members = ofEvery(`carried-${couponId.slice(-6)}`, 1).flat();
  const runner = new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission);
  // Bucket 0's steps alone, as a process that died after its commit left them.
  const [, version] = await allowListScript(runner, couponId, { step: 'begin', uploadId: 'u1' }, {});
  await allowListScript(runner, couponId, { step: 'add', uploadId: 'u1', version: version!, userIds: members }, {});
  assert.equal(await allowListScript(runner, couponId, { step: 'commit', uploadId: 'u1', version: version! }, {}), ['REPLACED', '3']);
  await harness.drained(couponId);
  assert.equal(await answersOf(couponId, members), every(201), 'each bucket took its share before the change was sent');
  const events = await harness.eventsOf(couponId);
  const own = events.findIndex((e) => e.type === 'CouponAllowListReplaced' && e.data.bucket === undefined);
  const shares = events.flatMap((e, i) => (e.type === 'CouponAllowListReplaced' && e.data.bucket !== undefined ? [i] : []));
  assert.is(shares.length, K - 1);
  assert.ok(shares.every((i) => i > own), `every share announced after bucket 0's change: ${typesOf(events).join(' ')}`);
});

lists('a bucketed coupon with an allow-list lost from Redis comes back with each bucket\'s share in force: members of every bucket admitted, its holder keeps theirs, strangers refused', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 30, buckets: K, eligibility: { allowList: true } });
  const tag = couponId.slice(-6);
  const members = ofEvery(`restored-list-${tag}`, 2);
  assert.is((await putList(couponId, members.flat())).status, 200);
  const holder = members[1]![0]!;
  const held = await issue(couponId, holder);
  assert.is(held.status, 201);
  await harness.drained(couponId);
  await harness.projected();
  const layout = (await new StockBuckets(new ScriptRunner(harness.runtime.redis, harness.runtime.config.admission)).layoutOf(couponId))!;
  for (let b = 0; b < K; b++) {
    const k = keysOfBucket(layout, b);
    await harness.runtime.redis.del(k.coupon, k.holders, k.used, ...k.allowLists);
  }
  const again = await issue(couponId, holder);
  assert.equal([again.status, again.body.issuedCouponId], [409, held.body.issuedCouponId], again.text);
  assert.equal(await answersOf(couponId, members.map((u) => u[1]!)), every(201), 'a member of each bucket');
  assert.equal(await answersOf(couponId, ofEvery(`restored-stranger-${tag}`, 1).flat()), every('NOT_ELIGIBLE'), 'nobody else, in any bucket');
  await harness.drained(couponId);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

lists.run();
