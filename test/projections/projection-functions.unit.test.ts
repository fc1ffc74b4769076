import * as assert from 'uvu/assert';
import { couponProjection } from '../../projections/coupon/coupon-projection.ts';
import { issuedCouponProjection } from '../../projections/issued-coupon/issued-coupon-projection.ts';
import { couponHistoryProjection } from '../../projections/coupon-history/coupon-history-projection.ts';
import { notificationProjection } from '../../projections/notification/notification-projection.ts';
import type { LogPosition } from '../../projections/projection.ts';
import { COUPON_EVENT_TYPES, type CouponEvent } from '../../src/events/coupon-events.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';

/** Events as read from partition 0, at these offsets (default: one after another from 0). */
const at = (events: CouponEvent[], offsets: number[] = events.map((_, i) => i)): [CouponEvent[], LogPosition[]] =>
  [events, offsets.map((o) => ({ partition: 0, offset: BigInt(o) }))];

const coupon = spec('coupon projection');
coupon('given a CouponCreated, then a coupon row with its definition, ACTIVE, nothing issued', () => {
  const { created, progress } = couponProjection.changes(...at([f.created()]));
  assert.is(created.length, 1);
  assert.equal(
    { id: created[0]!.id, name: created[0]!.name, total: created[0]!.total_quantity, status: created[0]!.status, discount: [created[0]!.discount_type, created[0]!.discount_value] },
    { id: f.couponId, name: 'Winter 10%', total: 3, status: 'ACTIVE', discount: ['PERCENT', 10] },
  );
  assert.is(progress.size, 0);
});
coupon('given issues and uses, then the counts are the highest sequences seen', () => {
  const { progress } = couponProjection.changes(...at([f.issued(1, 'a'), f.issued(2, 'b'), f.used(2, 'b', 1, '2026-12-03T00:00:00.000Z')]));
  assert.equal(progress.get(f.couponId), { issuedUpTo: 2, usedUpTo: 1, lastEventAt: new Date('2026-12-03T00:00:00.000Z') });
});
coupon('given the same events twice (relay redelivery), then the changes are the same as once', () => {
  const events = [f.created(), f.issued(1, 'a'), f.issued(2, 'b'), f.used(1, 'a', 1)];
  assert.equal(couponProjection.changes(...at([...events, ...events.slice(1)])), couponProjection.changes(...at(events)));
});
coupon('given cancellations and revocations, then their counts are the highest sequences seen', () => {
  const { progress } = couponProjection.changes(...at([f.useCancelled(1, 'a', 2), f.useCancelled(2, 'b', 1), f.revoked([[3, 'c']], 4), f.revoked([[3, 'c']], 4)]));
  assert.equal([progress.get(f.couponId)!.cancelledUpTo, progress.get(f.couponId)!.revokedUpTo], [2, 4]);
});
coupon('given revoke-unused, even a chunk that revoked nothing, then when it first ran; a cancellation after it counts a revocation', () => {
  const { progress } = couponProjection.changes(...at([f.revoked([], 0), f.revoked([[2, 'b']], 1, '2026-12-04T00:00:00.000Z'), f.useCancelled(1, 'a', 1, '2026-12-05T00:00:00.000Z', 'o', 1, 2)]));
  assert.equal([progress.get(f.couponId)!.unusedRevokedAt, progress.get(f.couponId)!.revokedUpTo], [new Date('2026-12-03T08:00:00.000Z'), 2]);
});
coupon('given a late copy of an older setting change after a newer one, then the newer one, with its revision', () => {
  const oldWindow = f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T08:30:00.000Z', '2026-12-01T08:10:00.000Z', 1);
  const oldList = f.allowListReplaced(1, 5, '2026-12-01T08:06:00.000Z', 2);
  const { progress } = couponProjection.changes(...at([oldWindow, oldList, f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T12:00:00.000Z', '2026-12-01T08:20:00.000Z', 3),
    f.allowListReplaced(2, 7, '2026-12-01T08:21:00.000Z', 4), oldWindow, oldList]));
  const p = progress.get(f.couponId)!;
  assert.equal([p.window, p.allowList], [{ issueStartAt: '2026-12-01T08:00:00.000Z', issueEndAt: '2026-12-01T12:00:00.000Z', revision: 3 }, { version: 2, size: 7, revision: 4 }]);
});
coupon('given a close, then it records when issuing was closed', () => {
  const { progress } = couponProjection.changes(...at([f.closed('2026-12-01T09:30:00.000Z')]));
  assert.equal(progress.get(f.couponId)!.closedAt, new Date('2026-12-01T09:30:00.000Z'));
});
coupon.run();

const issued = spec('issued_coupon projection');
issued('given a CouponIssued, then an ISSUED row for its holder with its validity', () => {
  const { issued: rows, used } = issuedCouponProjection.changes(...at([f.issued(1, 'alice', '2026-12-01T08:10:00.000Z')]));
  assert.equal(rows, [{
    id: `${f.couponId}.00000001`, coupon_id: f.couponId, user_id: 'alice', status: 'ISSUED', issued_at: new Date('2026-12-01T08:10:00.000Z'),
    valid_from: new Date('2026-12-01T08:00:00.000Z'), valid_until: new Date('2026-12-08T08:00:00.000Z'),
  }]);
  assert.equal(used, []);
});
issued('given a CouponUsed, then that row becomes USED with when and the order', () => {
  const { used } = issuedCouponProjection.changes(...at([f.used(1, 'alice', 1, '2026-12-02T08:00:00.000Z', 'order-9')]));
  assert.equal(used, [{ id: `${f.couponId}.00000001`, usedAt: new Date('2026-12-02T08:00:00.000Z'), orderId: 'order-9', generation: 1 }]);
});
issued('given use, cancel, use again in one batch, then the latest use and the cancelled generation, written in that order', () => {
  const changes = issuedCouponProjection.changes(...at([
    f.used(1, 'alice', 1, '2026-12-02T08:00:00.000Z', 'order-1'), f.useCancelled(1, 'alice', 1, '2026-12-02T09:00:00.000Z', 'order-1'),
    f.used(1, 'alice', 2, '2026-12-02T10:00:00.000Z', 'order-2', 2),
  ]));
  assert.equal(changes.used, [{ id: `${f.couponId}.00000001`, usedAt: new Date('2026-12-02T10:00:00.000Z'), orderId: 'order-2', generation: 2 }]);
  assert.equal(changes.cancelled, [{ id: `${f.couponId}.00000001`, generation: 1 }]);
});
issued('given a revoke, then each named row is revoked once, at the event\'s time', () => {
  const { revoked } = issuedCouponProjection.changes(...at([f.revoked([[1, 'a'], [2, 'b']], 2), f.revoked([[1, 'a'], [2, 'b']], 2, '2026-12-04T00:00:00.000Z')]));
  assert.equal(revoked.map((r) => [r.id.slice(-1), r.revokedAt.toISOString()]), [['1', '2026-12-03T08:00:00.000Z'], ['2', '2026-12-03T08:00:00.000Z']]);
});
issued('given a use cancelled after revoke-unused, then its cancellation and then its revocation, at the cancellation\'s time', () => {
  const changes = issuedCouponProjection.changes(...at([f.used(1, 'a', 1), f.useCancelled(1, 'a', 1, '2026-12-05T00:00:00.000Z', undefined, 1, 1)]));
  assert.equal([changes.cancelled, changes.revoked], [[{ id: `${f.couponId}.00000001`, generation: 1 }], [{ id: `${f.couponId}.00000001`, revokedAt: new Date('2026-12-05T00:00:00.000Z') }]]);
});
issued('it ignores events it does not handle, and a duplicate within a batch', () => {
  const { issued: rows, used } = issuedCouponProjection.changes(...at([f.created(), f.closed(), f.issued(1, 'a'), f.issued(1, 'a')]));
  assert.is(rows.length, 1);
  assert.is(used.length, 0);
  assert.equal(issuedCouponProjection.handles, ['CouponIssued', 'CouponUsed', 'CouponUseCancelled', 'CouponsRevoked', 'CouponHeld', 'CouponHoldEnded']);
});
issued('given two holds and the first one\'s end in a batch, then the latest hold is written and the end names the first, which the row no longer has', () => {
  const { held, ended } = issuedCouponProjection.changes(...at([
    f.held(1, 'a', 'o-1', 1), f.holdEnded(1, 'a', 'o-1', 1, 'EXPIRED'), f.held(1, 'a', 'o-2', 2, '2026-12-02T07:58:00.000Z'), f.held(1, 'a', 'o-1', 1),
  ]));
  assert.equal(held.map((h) => [h.orderId, h.holdSequence, h.until.toISOString()]), [['o-2', 2, '2026-12-02T08:18:00.000Z']]);
  assert.equal(ended.map((e) => [e.holdSequence, e.reason]), [[1, 'EXPIRED']]);
});
issued('given a use that confirmed a hold, then that hold ends as USED with the use', () => {
  const { used, ended } = issuedCouponProjection.changes(...at([f.held(1, 'a', 'o-1', 1), f.used(1, 'a', 1, undefined, 'o-1', 1, 1)]));
  assert.equal([used.length, ended.map((e) => [e.holdSequence, e.reason])], [1, [[1, 'USED']]]);
});
issued.run();

const history = spec('coupon history index');
history('it indexes every event type, so a coupon\'s history read from it misses none', () => {
  assert.equal([...couponHistoryProjection.handles].sort(), [...COUPON_EVENT_TYPES].sort());
});
history('given a coupon\'s events next to each other, then one range holding all of them', () => {
  const ranges = couponHistoryProjection.changes(...at([f.created(), f.issued(1, 'a'), f.issued(2, 'b')], [10, 11, 13]));
  assert.equal(ranges, [{ coupon_id: f.couponId, partition_no: 0, first_offset: '10', last_offset: '13', events: 3 }]);
});
history('given a gap wider than 256 other events, then a new range starts, so a range never reads mostly others\' events', () => {
  const ranges = couponHistoryProjection.changes(...at([f.created(), f.issued(1, 'a'), f.issued(2, 'b')], [0, 256, 600]));
  assert.equal(ranges.map((r) => [r.first_offset, r.last_offset, r.events]), [['0', '256', 2], ['600', '600', 1]]);
});
history('given two coupons interleaved, then each has its own ranges with its own counts', () => {
  const other = { ...f.issued(1, 'z'), couponId: 'c_other' } as CouponEvent;
  const ranges = couponHistoryProjection.changes(...at([f.created(), other, f.issued(1, 'a'), other], [5, 6, 7, 8]));
  assert.equal(ranges.map((r) => [r.coupon_id, r.first_offset, r.last_offset, r.events]), [[f.couponId, '5', '7', 2], ['c_other', '6', '8', 2]]);
});
history.run();

const notices = spec('notification projection');
notices('given use, cancel, use again, then one COUPON_USED notice, for the first use', () => {
  const rows = notificationProjection.changes(...at([
    f.used(1, 'alice', 1, '2026-12-02T08:00:00.000Z', 'order-1'), f.useCancelled(1, 'alice', 1), f.used(1, 'alice', 2, '2026-12-02T10:00:00.000Z', 'order-2', 2),
  ]));
  assert.equal(rows.map((r) => [r.type, r.user_id, JSON.parse(r.data).orderId]), [['COUPON_USED', 'alice', 'order-1']]);
});
notices('given a revoke, then a COUPON_REVOKED notice to each holder named', () => {
  const rows = notificationProjection.changes(...at([f.revoked([[1, 'a'], [2, 'b']], 2)]));
  assert.equal(rows.map((r) => [r.type, r.user_id, r.issued_coupon_id.slice(-1), JSON.parse(r.data).revokedAt]),
    [['COUPON_REVOKED', 'a', '1', '2026-12-03T08:00:00.000Z'], ['COUPON_REVOKED', 'b', '2', '2026-12-03T08:00:00.000Z']]);
});
notices('given a use cancelled after revoke-unused, then a COUPON_REVOKED notice to its holder; an ordinary cancellation, none', () => {
  const rows = notificationProjection.changes(...at([f.useCancelled(1, 'a', 1), f.useCancelled(2, 'b', 2, '2026-12-05T00:00:00.000Z', 'o', 1, 1)]));
  assert.equal(rows.map((r) => [r.type, r.user_id, r.issued_coupon_id.slice(-1)]), [['COUPON_REVOKED', 'b', '2']]);
});
notices.run();
