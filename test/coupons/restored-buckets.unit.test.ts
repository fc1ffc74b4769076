import * as assert from 'uvu/assert';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { foldInto, type RebuiltCoupon } from '../../src/coupons/recovery/rebuilt-coupon.ts';
import { restoredBuckets } from '../../src/coupons/recovery/restored-buckets.ts';
import { homeBucket } from '../../src/coupons/admission/stock-buckets.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';

const restored = spec('a lost bucketed coupon as a restore writes it back');

const shards = [0, 1, 2];
const split = (e: CouponEvent): CouponEvent => ({ ...e, data: { ...e.data, buckets: 3, bucketShards: shards } } as CouponEvent);
const moved = (transferId: string, toBucket: number, first: number, last: number): CouponEvent =>
  ({ ...f.closed(), type: 'CouponStockMoved', data: { transferId, fromBucket: 0, toBucket, first, last, opens: true } } as CouponEvent);
const received = (transferId: string, toBucket: number, first: number, last: number): CouponEvent =>
  ({ ...f.closed(), type: 'CouponStockReceived', data: { transferId, fromBucket: 0, toBucket, first, last, opens: true } } as CouponEvent);
const toOne = '01937a4e-0000-7000-8000-00000000a001';
const toTwo = '01937a4e-0000-7000-8000-00000000a002';

function rebuild(events: CouponEvent[]): RebuiltCoupon {
  const rebuilt = new Map<string, RebuiltCoupon>();
  for (const e of events) foldInto(rebuilt, e);
  return rebuilt.get(f.couponId)!;
}

restored('given a 3-bucket coupon whose move toward bucket 2 is still in an outbox, then its receipt follows that entry, and one the log shows moved needs no gate', () => {
  const r = rebuild([split(f.created('2026-12-01T08:00:00.000Z', 6)), moved(toOne, 1, 5, 6), moved(toTwo, 2, 3, 4)]);
  const buckets = restoredBuckets(r, r.stock!, shards, {}, { moves: new Map([[toTwo, '{cp:2}:outbox|1733390000000-0']]), lists: new Map() });
  const receipts = new Map(buckets.map((b) => [b.bucket, b.events.filter((e) => e.t === 'CouponStockReceived')]));
  assert.equal(receipts.get(2)!.map((e) => [JSON.parse(e.d).transferId, e.g]), [[toTwo, '{cp:2}:outbox|1733390000000-0']]);
  assert.equal(receipts.get(1)!.map((e) => [JSON.parse(e.d).transferId, e.g]), [[toOne, undefined]]);
  assert.equal(buckets.map((b) => b.bucket), [1, 2, 0], 'bucket 0 last: its hash says the coupon is there');
  assert.equal([buckets[0]!.fields.lo, buckets[0]!.fields.hi, buckets[1]!.fields.lo, buckets[1]!.fields.hi, buckets[2]!.fields.lo, buckets[2]!.fields.hi], [5, 6, 3, 4, 1, 2]);
});

restored('given a closed coupon, then every bucket it writes, and every bucket opened from it later, is closed', () => {
  const r = rebuild([split(f.created('2026-12-01T08:00:00.000Z', 6)), moved(toOne, 1, 5, 6), received(toOne, 1, 5, 6), f.issued(1, 'ann'), f.closed()]);
  const buckets = restoredBuckets(r, r.stock!, shards, { st: r.state.status }, { moves: new Map(), lists: new Map() });
  for (const b of buckets) {
    assert.is(b.fields.st, 'CLOSED', `bucket ${b.bucket}`);
    assert.is(JSON.parse(String(b.fields.cfg)).st, 'CLOSED', `bucket ${b.bucket}'s settings, which a bucket it opens takes`);
  }
  assert.equal(buckets.find((b) => b.bucket === homeBucket('ann', 3))!.holders, [['ann', 1]], 'a holder goes back to their home bucket');
});

restored('given a list bucket 0 put in force whose change is still in an outbox, then each bucket gets its share and announces it after that change; a bucket opened later waits for it', () => {
  const members = ['ann', 'bob', 'cat', 'dan', 'eve'];
  const created = split(f.created('2026-12-01T08:00:00.000Z', 6));
  const listed = { ...created, data: { ...created.data, eligibility: { allowList: true } } } as CouponEvent;
  const r = rebuild([listed, moved(toOne, 1, 5, 6), received(toOne, 1, 5, 6), moved(toTwo, 2, 3, 4), received(toTwo, 2, 3, 4),
    f.allowListChunk(1, members), f.allowListReplaced(1, members.length, '2026-12-01T08:06:00.000Z', 1)]);
  const change = '{cp:0}:outbox|1733390000000-0';
  const buckets = restoredBuckets(r, r.stock!, shards, {}, { moves: new Map(), lists: new Map([[1, change]]) });
  for (const b of buckets) {
    assert.equal(b.allowList.sort(), b.bucket === 0 ? [...members].sort() : members.filter((m) => homeBucket(m, 3) === b.bucket).sort(), `bucket ${b.bucket}'s share`);
    assert.is(JSON.parse(String(b.fields.cfg)).alw, '1', 'a bucket opened from these settings waits for list change 1');
    if (b.bucket === 0) continue;
    const announced = b.events.filter((e) => e.t === 'CouponAllowListReplaced');
    assert.equal(announced.map((e) => [JSON.parse(e.d).version, JSON.parse(e.d).size, JSON.parse(e.d).bucket, e.g]), [[1, b.allowList.length, b.bucket, change]]);
    assert.equal([b.fields.ala, b.fields.alav, b.fields.alr], ['a', 1, 1]);
  }
});

restored.run();
