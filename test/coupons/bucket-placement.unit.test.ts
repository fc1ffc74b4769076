import * as assert from 'uvu/assert';
import { placeBuckets } from '../../src/coupons/admission/bucket-placement.ts';
import { spec } from '../support/spec.ts';

const placement = spec('where stock buckets live');
/** Shards 0..15 dealt over three masters the way slot ranges fall: uneven runs, as CRC16 puts them. */
const masters = ['a', 'a', 'b', 'a', 'c', 'c', 'b', 'a', 'a', 'b', 'c', 'a', 'b', 'b', 'c', 'a'];
const masterOf = (shard: number) => masters[shard]!;
const perMaster = (shards: number[]) => Object.fromEntries(['a', 'b', 'c'].map((m) => [m, shards.filter((s) => masterOf(s) === m).length]));

placement('on one Redis, bucket 0 is the coupon\'s shard and the others the shards after it', () => {
  assert.equal(placeBuckets(14, 4, 16), [14, 15, 0, 1]);
  assert.equal(placeBuckets(3, 1, 16), [3]);
});

placement('on a cluster, K buckets on K masters put one on each, and more are dealt evenly', () => {
  for (let home = 0; home < 16; home++) {
    const three = placeBuckets(home, 3, 16, masterOf);
    assert.is(three[0], home);
    assert.equal(perMaster(three), { a: 1, b: 1, c: 1 }, `home ${home}: ${three}`);
    assert.is(new Set(three).size, 3);
    assert.equal(perMaster(placeBuckets(home, 6, 16, masterOf)), { a: 2, b: 2, c: 2 });
  }
});

placement('more buckets than shards share shards (their keys differ), and every bucket is placed', () => {
  const placed = placeBuckets(2, 20, 16, masterOf);
  assert.is(placed.length, 20);
  assert.is(new Set(placed).size, 16);
  assert.is(placeBuckets(0, 3, 1).length, 3);
});

placement.run();
