import * as assert from 'uvu/assert';
import { foldInto, type RebuiltCoupon } from '../../src/coupons/recovery/rebuilt-coupon.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';

const fold = spec('a coupon rebuilt from the log for Redis');

fold('given stock added (and a copy of it), then the state and the definition the reads show carry the new total', () => {
  const rebuilt = new Map<string, RebuiltCoupon>();
  const added = f.stockAdded(2, 3);
  for (const e of [f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'ann'), added, added]) foldInto(rebuilt, e);
  const coupon = rebuilt.get(f.couponId)!;
  assert.is(coupon.state.totalQuantity, 3);
  assert.is((JSON.parse(coupon.definition) as { totalQuantity: number; name: string }).totalQuantity, 3);
  assert.is((JSON.parse(coupon.definition) as { name: string }).name, 'Winter 10%', 'the rest of the definition is kept');
});

fold.run();
