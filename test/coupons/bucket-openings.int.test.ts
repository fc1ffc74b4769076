import * as assert from 'uvu/assert';
import { AdmissionStore } from '../../src/coupons/admission/admission-store.ts';
import { bucketGiveScript, bucketIssueScript, type Transfer } from '../../src/coupons/admission/bucket-scripts.ts';
import { keysOfBucket, type BucketLayout } from '../../src/coupons/admission/keys.ts';
import { ScriptRunner } from '../../src/coupons/admission/script-runner.ts';
import { homeBucket, StockBuckets } from '../../src/coupons/admission/stock-buckets.ts';
import { internalRequest } from '../../src/idempotency/admission-request.ts';
import { replaceAllowList } from '../../src/coupons/eligibility/allow-list-runs.ts';
import { allowListScript } from '../../src/coupons/admission/allow-list-script.ts';
import { carryAllowList } from '../../src/coupons/admission/allow-list-carry.ts';
import { uuidv7 } from '../../src/ids/ids.ts';
import { EventLogBacklog } from '../../src/dependencies/dependency-unavailable.ts';
import { outboxEntryToEvent } from '../../src/outbox/outbox.ts';
import { closeRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { openTestRuntime } from '../support/test-runtime.ts';
import { spec } from '../support/spec.ts';

// No relay runs here: an opening bucket 0 gave stays in flight until this test (or the close) takes it in.
let runtime!: Runtime;
const openings = spec('bucket openings in flight', async () => (runtime = await openTestRuntime()), closeRuntime);

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const K = 3;

async function bucketedCoupon(store: AdmissionStore, allowList = false): Promise<string> {
  const couponId = uuidv7();
  const now = Date.now();
  const definition = {
    name: 'opening', totalQuantity: 30, discount: { type: 'PERCENT' as const, value: 5 }, buckets: K,
    issueStartAt: iso(now - HOUR), issueEndAt: iso(now + HOUR), validFrom: iso(now), validUntil: iso(now + 2 * HOUR),
    ...(allowList ? { eligibility: { allowList: true } } : {}),
  };
  const created = await store.create(couponId, uuidv7(), definition, {}, internalRequest());
  assert.is(created.outcome, 'CREATED');
  return couponId;
}

/** A coupon of 3 buckets (with an allow-list when `allowList`), and what the specs drive it with. */
async function givenCoupon(allowList = false) {
  const store = new AdmissionStore(runtime.redis, runtime.config.admission);
  const runner = new ScriptRunner(runtime.redis, runtime.config.admission);
  const couponId = await bucketedCoupon(store, allowList);
  const layout = (await new StockBuckets(runner).layoutOf(couponId))!;
  return { store, runner, couponId, layout };
}

/** A create cut short before it opened bucket 2, then bucket 0 giving it its opening, not taken in yet. */
async function openingInFlight(runner: ScriptRunner, layout: BucketLayout): Promise<Transfer> {
  const two = keysOfBucket(layout, 2);
  await runtime.redis.del(two.coupon, two.holders, two.used);
  await runtime.redis.hdel(keysOfBucket(layout, 0).coupon, 'op:2');
  const opening = await bucketGiveScript(runner, layout, uuidv7(), 0, 2, undefined, uuidv7(), {}, true);
  if (typeof opening !== 'object') throw new Error(`bucket 0 gave no opening: ${opening}`);
  return opening;
}

/** A user whose home bucket is 2, named after `prefix`. */
const askerOfTwo = (prefix: string) => {
  let asker = `${prefix}-0`;
  for (let i = 1; homeBucket(asker, K) !== 2; i++) asker = `${prefix}-${i}`;
  return asker;
};

openings('given bucket 0 gave bucket 2 its opening and the coupon then closed, when the asker takes the opening in late, then the bucket is closed and admits nobody', async () => {
  const { store, runner, couponId, layout } = await givenCoupon();
  const two = keysOfBucket(layout, 2);
  const opening = await openingInFlight(runner, layout);
  assert.is((JSON.parse(opening.settings) as { st: string }).st, 'ACTIVE', 'the opening carries the settings from before the close');

  assert.is((await store.close(couponId, uuidv7(), {}, internalRequest())).outcome, 'CLOSED');
  const [status, settings, taken] = await runtime.redis.hmget(two.coupon, 'st', 'cfg', `x:${opening.transferId}`);
  assert.equal([status, settings !== null, taken], ['CLOSED', true, '1'], 'the close took the opening in, then closed the opened bucket');

  const asker = askerOfTwo('late-asker');
  const late = await bucketIssueScript(runner, layout, 2, asker, uuidv7(), {}, internalRequest(), '{}', opening, uuidv7(), false);
  assert.is(late.outcome, 'COUPON_CLOSED');
  assert.is(await runtime.redis.hlen(two.holders), 0, 'nobody was admitted after the close');
});

openings('given bucket 0 gave bucket 2 its opening, when the window and the allow-list change before the asker takes it in, then the bucket opens with both changes and announced them', async () => {
  const { store, runner, couponId, layout } = await givenCoupon(true);
  const two = keysOfBucket(layout, 2);
  const opening = await openingInFlight(runner, layout);

  const [member, stranger] = [askerOfTwo('listed'), askerOfTwo('stranger')];
  const issueEndAt = iso(Date.now() + 1.5 * HOUR);
  assert.is((await store.changeWindow(couponId, { issueEndAt }, uuidv7(), {}, internalRequest())).outcome, 'WINDOW_CHANGED');
  const listed = await replaceAllowList(store, couponId, (async function* () { yield [member]; })(), {});
  assert.is(listed.outcome, 'REPLACED');

  const admitted = await bucketIssueScript(runner, layout, 2, member, uuidv7(), {}, internalRequest(), '{}', opening, uuidv7(), false);
  assert.is(admitted.outcome, 'ISSUED', 'the member of the list carried while the opening was in flight');
  const refused = await bucketIssueScript(runner, layout, 2, stranger, uuidv7(), {}, internalRequest(), '{}', undefined, '', false);
  assert.is(refused.outcome, 'NOT_ELIGIBLE');
  assert.is(await runtime.redis.hget(two.coupon, 'iea'), issueEndAt, 'the window carried while the opening was in flight');
  const announced = (await runtime.redis.xrange(two.outbox, '-', '+')).map(([, fields]) => outboxEntryToEvent(fields))
    .filter((e) => e.couponId === couponId && 'bucket' in e.data && e.data.bucket === 2).map((e): string => e.type);
  assert.ok(['CouponIssueWindowChanged', 'CouponAllowListReplaced'].every((t) => announced.includes(t)), `bucket 2 announced: ${announced.join(' ')}`);
});

openings('given a list carried to bucket 2 before it opened and lost with its node since, when bucket 2 opens, then it takes the list before deciding: the member is issued, a stranger refused', async () => {
  const { store, runner, couponId, layout } = await givenCoupon(true);
  const two = keysOfBucket(layout, 2);
  const lose = () => runtime.redis.del(two.coupon, two.holders, two.used, ...two.allowLists);
  await lose();
  await runtime.redis.hdel(keysOfBucket(layout, 0).coupon, 'op:2');
  const [member, stranger] = [askerOfTwo('pending-member'), askerOfTwo('pending-stranger')];
  assert.is((await replaceAllowList(store, couponId, (async function* () { yield [member]; })(), {})).outcome, 'REPLACED');
  assert.is(await runtime.redis.hget(two.coupon, 'ala'), 'b', 'the carry reached the bucket not opened yet');
  await lose();

  const issued = await store.issue(couponId, member, uuidv7(), {}, internalRequest());
  assert.is(issued.outcome, 'ISSUED', 'opened from settings that name the list change, it took the list first');
  assert.is((await store.issue(couponId, stranger, uuidv7(), {}, internalRequest())).outcome, 'NOT_ELIGIBLE');
});

openings('given the outbox at its bound, then an allow-list carry is refused to the API but not to the relay, which drains the outboxes', async () => {
  const store = new AdmissionStore(runtime.redis, runtime.config.admission);
  const couponId = await bucketedCoupon(store, true);
  assert.is((await replaceAllowList(store, couponId, (async function* () { yield ['anyone']; })(), {})).outcome, 'REPLACED');
  // A second change, left uncarried: bucket 0's steps alone.
  const runner = new ScriptRunner(runtime.redis, runtime.config.admission);
  assert.equal(await allowListScript(runner, couponId, { step: 'remove' }, {}), ['REMOVED']);
  const full = new ScriptRunner(runtime.redis, { ...runtime.config.admission, outboxMaxEntries: 1 });
  const layout = (await new StockBuckets(full).layoutOf(couponId))!;
  const home = (userId: string) => homeBucket(userId, K);
  const refused = await carryAllowList(full, layout, home, {}, true).then(() => undefined, (error: unknown) => error);
  assert.instance(refused, EventLogBacklog, 'the API is told the event log is not taking events');
  await carryAllowList(full, layout, home, {}, false);
  for (const b of [1, 2]) assert.is(await runtime.redis.hget(keysOfBucket(layout, b).coupon, 'ala'), '', `bucket ${b} took the removal`);
});

openings('given the coupon\'s outbox at its bound, when it is closed, then 503 and no bucket is closed ahead of it; once closed, the close asked again at the bound answers as the first did', async () => {
  const { couponId, layout } = await givenCoupon();
  const full = new AdmissionStore(runtime.redis, { ...runtime.config.admission, outboxMaxEntries: 1 });
  const refused = await full.close(couponId, uuidv7(), {}, internalRequest()).then(() => undefined, (error: unknown) => error);
  assert.instance(refused, EventLogBacklog);
  for (const b of [1, 2]) assert.is(await runtime.redis.hget(keysOfBucket(layout, b).coupon, 'st'), 'ACTIVE', `bucket ${b} still admits`);
  const request = internalRequest();
  const store = new AdmissionStore(runtime.redis, runtime.config.admission);
  const closed = await store.close(couponId, uuidv7(), {}, request);
  assert.is(closed.outcome, 'CLOSED');
  assert.equal(await full.close(couponId, uuidv7(), {}, request), { ...closed, replayed: true }, 'a retry meets the first answer');
});

openings('given an opening bucket 0 gave whose bucket took it in and was lost since, when the coupon closes, then the lost bucket is not made again', async () => {
  const { store, runner, couponId, layout } = await givenCoupon();
  const one = keysOfBucket(layout, 1);
  // The create's opening of bucket 1 was taken in; its CouponStockMoved left the outbox (as the relay sends it).
  const [transferId] = await runtime.redis.hmget(keysOfBucket(layout, 0).coupon, 'op:1');
  const given = (await runtime.redis.hget(keysOfBucket(layout, 0).coupon, `o:${transferId!}`))!;
  await runtime.redis.xdel(keysOfBucket(layout, 0).outbox, given.split('-').slice(2).join('-'));
  await runtime.redis.del(one.coupon, one.holders, one.used);

  assert.is((await store.close(couponId, uuidv7(), {}, internalRequest())).outcome, 'CLOSED');
  assert.is(await runtime.redis.hexists(one.coupon, 'cfg'), 0, 'a lost bucket stays lost (503 to its askers), never opened again empty');
});

openings.run();
