import * as assert from 'uvu/assert';
import { BoundedCache } from '../../src/memory/bounded-cache.ts';
import { spec } from '../support/spec.ts';

const cache = spec('a cache bounded in bytes');
const byLength = (key: string, value: string) => key.length + value.length;

cache('given entries past the budget, then the oldest leave first and what is kept never passes it', () => {
  const c = new BoundedCache<string, string>(100, byLength);
  for (let i = 0; i < 50; i++) {
    c.set(`k${String(i).padStart(2, '0')}`, 'v'.repeat(7)); // 10 bytes each
    assert.ok(c.bytes <= 100, `${c.bytes} bytes after ${i + 1}`);
    assert.ok(c.size >= Math.min(i + 1, 5), 'at least the newer half is kept');
  }
  assert.is(c.size, 10);
  assert.is(c.get('k39'), undefined, 'the oldest went');
  assert.is(c.get('k40'), 'vvvvvvv');
  assert.is(c.bytes, 100);
});

cache('given a key set again, then it is charged once, at its new size', () => {
  const c = new BoundedCache<string, string>(40, byLength);
  c.set('a', 'x'.repeat(9));
  c.set('b', 'x'.repeat(9));
  c.set('c', 'x'.repeat(9)); // the newer half (20 bytes) is full: a and b become the older
  c.set('a', 'x'.repeat(4));
  assert.equal([c.get('a'), c.get('b'), c.get('c'), c.bytes, c.size], ['xxxx', 'x'.repeat(9), 'x'.repeat(9), 25, 3]);
});

cache('given an entry larger than half the budget, then it is not kept and nothing is evicted for it', () => {
  const c = new BoundedCache<string, string>(20, byLength);
  c.set('a', 'xxxx');
  c.set('big', 'x'.repeat(10));
  assert.equal([c.get('big'), c.get('a'), c.bytes], [undefined, 'xxxx', 5]);
  c.delete('a');
  assert.equal([c.size, c.bytes], [0, 0]);
});

cache('given a size function that answers no size (NaN, zero, negative), then the entry is not kept and the bound holds', () => {
  for (const bad of [Number.NaN, 0, -50]) {
    const c = new BoundedCache<string, string>(100, (key) => (key === 'bad' ? bad : 10));
    c.set('bad', 'x');
    for (let i = 0; i < 30; i++) c.set(`k${i}`, 'x');
    assert.equal([c.get('bad'), c.bytes <= 100, c.size], [undefined, true, 10], `size ${bad}`);
  }
});

cache.run();
