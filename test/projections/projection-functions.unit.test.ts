import * as assert from 'uvu/assert';
import { couponProjection } from '../../projections/coupon/coupon-projection.ts';
import { issuedCouponProjection } from '../../projections/issued-coupon/issued-coupon-projection.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';

const coupon = spec('coupon projection');
coupon('given a CouponCreated, then a coupon row with its definition, ACTIVE, nothing issued', () => {
  const { created, progress } = couponProjection.changes([f.created()]);
  assert.is(created.length, 1);
  assert.equal(
    { id: created[0]!.id, name: created[0]!.name, total: created[0]!.total_quantity, status: created[0]!.status, discount: [created[0]!.discount_type, created[0]!.discount_value] },
    { id: f.couponId, name: 'Winter 10%', total: 3, status: 'ACTIVE', discount: ['PERCENT', 10] },
  );
  assert.is(progress.size, 0);
});
coupon('given issues and uses, then the counts are the highest sequences seen', () => {
  const { progress } = couponProjection.changes([f.issued(1, 'a'), f.issued(2, 'b'), f.used(2, 'b', 1, '2026-12-03T00:00:00.000Z')]);
  assert.equal(progress.get(f.couponId), { issuedUpTo: 2, usedUpTo: 1, lastEventAt: new Date('2026-12-03T00:00:00.000Z') });
});
coupon('given the same events twice (relay redelivery), then the changes are the same as once', () => {
  const events = [f.created(), f.issued(1, 'a'), f.issued(2, 'b'), f.used(1, 'a', 1)];
  assert.equal(couponProjection.changes([...events, ...events.slice(1)]), couponProjection.changes(events));
});
coupon('given a close, then it records when issuing was closed', () => {
  const { progress } = couponProjection.changes([f.closed('2026-12-01T09:30:00.000Z')]);
  assert.equal(progress.get(f.couponId)!.closedAt, new Date('2026-12-01T09:30:00.000Z'));
});
coupon.run();

const issued = spec('issued_coupon projection');
issued('given a CouponIssued, then an ISSUED row for its holder with its validity', () => {
  const { issued: rows, used } = issuedCouponProjection.changes([f.issued(1, 'alice', '2026-12-01T08:10:00.000Z')]);
  assert.equal(rows, [{
    id: `${f.couponId}.00000001`, coupon_id: f.couponId, user_id: 'alice', status: 'ISSUED', issued_at: new Date('2026-12-01T08:10:00.000Z'),
    valid_from: new Date('2026-12-01T08:00:00.000Z'), valid_until: new Date('2026-12-08T08:00:00.000Z'),
  }]);
  assert.equal(used, []);
});
issued('given a CouponUsed, then that row becomes USED with when and the order', () => {
  const { used } = issuedCouponProjection.changes([f.used(1, 'alice', 1, '2026-12-02T08:00:00.000Z', 'order-9')]);
  assert.equal(used, [{ id: `${f.couponId}.00000001`, usedAt: new Date('2026-12-02T08:00:00.000Z'), orderId: 'order-9' }]);
});
issued('it ignores events it does not handle, and a duplicate within a batch', () => {
  const { issued: rows, used } = issuedCouponProjection.changes([f.created(), f.closed(), f.issued(1, 'a'), f.issued(1, 'a')]);
  assert.is(rows.length, 1);
  assert.is(used.length, 0);
  assert.equal(issuedCouponProjection.handles, ['CouponIssued', 'CouponUsed']);
});
issued.run();
