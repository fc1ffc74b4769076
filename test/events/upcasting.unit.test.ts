import * as assert from 'uvu/assert';
import { ALL_PROJECTIONS } from '../../projections/projections.ts';
import { HistoryAuditor } from '../../src/audit/history-auditor.ts';
import { evolve, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import { parseCouponEvent, type CouponEvent } from '../../src/events/coupon-events.ts';
import { outboxEntryToEvent } from '../../src/relay/outbox-entry.ts';
import { spec } from '../support/spec.ts';

const upcasting = spec('old event versions read as the latest');
const couponId = '01937a4e-0000-7000-8000-0000000000e1';
const id = (n: number) => `01937a4e-0000-7000-8000-${String(n).padStart(12, '0')}`;
const issued = (n: number, user: string) => ({
  eventId: id(n), type: 'CouponIssued', version: 1, couponId, occurredAt: `2026-12-01T08:1${n}:00.000Z`, meta: {},
  data: { issuedCouponId: `${couponId}.0000000${n}`, userId: user, validFrom: '2026-12-01T08:00:00.000Z', validUntil: '2026-12-08T08:00:00.000Z' },
});
const created = {
  eventId: id(0), type: 'CouponCreated', version: 1, couponId, occurredAt: '2026-12-01T08:00:00.000Z', meta: {},
  data: { name: 'Upcast', totalQuantity: 5, discount: { type: 'PERCENT', value: 10 }, issueStartAt: '2026-12-01T08:00:00.000Z',
    issueEndAt: '2026-12-01T10:00:00.000Z', validFrom: '2026-12-01T08:00:00.000Z', validUntil: '2026-12-08T08:00:00.000Z' },
};
const used = (n: number, user: string, version: 1 | 2, orderId?: string) => ({
  eventId: id(10 + n), type: 'CouponUsed', version, couponId, occurredAt: `2026-12-02T08:0${n}:00.000Z`, meta: {},
  data: { issuedCouponId: `${couponId}.0000000${n}`, userId: user, useSequence: n,
    ...(version === 2 ? { orderId: orderId ?? null } : orderId ? { orderId } : {}) },
});

// The same history twice: uses written before v2 (one with an order, one without), and as v2 writes them.
const mixed = [created, issued(1, 'ann'), issued(2, 'bob'), issued(3, 'cat'), used(1, 'ann', 1, 'order-1'), used(2, 'bob', 1), used(3, 'cat', 2)];
const latest = [created, issued(1, 'ann'), issued(2, 'bob'), issued(3, 'cat'), used(1, 'ann', 2, 'order-1'), used(2, 'bob', 2), used(3, 'cat', 2)];
const read = (raw: unknown[]) => raw.map((e) => parseCouponEvent(JSON.parse(JSON.stringify(e))));

upcasting('given a log holding CouponUsed v1 and v2, when it is read, then every event is the latest version and equals the log written in v2 only', () => {
  const [a, b] = [read(mixed), read(latest)];
  assert.equal(a, b);
  assert.equal(a.filter((e) => e.type === 'CouponUsed').map((e) => [e.version, (e.data as { orderId: string | null }).orderId]), [[2, 'order-1'], [2, null], [2, null]]);
});

upcasting('given both logs, then every read model, the rules state and the audit come out the same', () => {
  const [a, b] = [read(mixed), read(latest)];
  const positions = a.map((_, i) => ({ partition: 0, offset: BigInt(i) }));
  for (const projection of ALL_PROJECTIONS) {
    const strip = (changes: unknown) => JSON.parse(JSON.stringify(changes, (_, v) => (typeof v === 'bigint' ? String(v) : v instanceof Map ? [...v] : v)));
    assert.equal(strip(projection.changes(a, positions)), strip(projection.changes(b, positions)), projection.name);
  }
  const fold = (events: CouponEvent[]) => events.reduce<AdmissionCoupon | undefined>(evolve, undefined);
  assert.equal(fold(a), fold(b));
  const audits = [a, b].map((events) => {
    const audit = new HistoryAuditor();
    for (const e of events) audit.add(e);
    return audit.violations;
  });
  assert.equal(audits, [[], []]);
});

upcasting('given a use in the outbox as the scripts write it (no orderId), when the relay reads it, then it produces CouponUsed v2 with orderId null', () => {
  const event = outboxEntryToEvent(['t', 'CouponUsed', 'e', id(99), 'c', couponId, 'at', String(Date.parse('2026-12-02T08:00:00.000Z')),
    'd', JSON.stringify({ issuedCouponId: `${couponId}.00000001`, userId: 'ann', useSequence: 1 }), 'm', '{}']);
  assert.equal([event.type, event.version, event.type === 'CouponUsed' && event.data.orderId], ['CouponUsed', 2, null]);
});

upcasting.run();
