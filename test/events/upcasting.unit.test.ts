import * as assert from 'uvu/assert';
import { ALL_PROJECTIONS } from '../../projections/projections.ts';
import { HistoryAuditor } from '../../src/audit/history-auditor.ts';
import { evolve, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import { parseCouponEvent, type CouponEvent } from '../../src/events/coupon-events.ts';
import { outboxEntryToEvent } from '../../src/outbox/outbox.ts';
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
const used = (n: number, user: string, version: 1 | 2 | 3, orderId?: string) => ({
  eventId: id(10 + n), type: 'CouponUsed', version, couponId, occurredAt: `2026-12-02T08:0${n}:00.000Z`, meta: {},
  data: { issuedCouponId: `${couponId}.0000000${n}`, userId: user, useSequence: n,
    ...(version >= 2 ? { orderId: orderId ?? null } : orderId ? { orderId } : {}), ...(version === 3 ? { useGeneration: 1 } : {}) },
});

// The same history twice: uses written as v1 (one with an order, one without), v2 and v3, and as v3 writes them.
const mixed = [created, issued(1, 'ann'), issued(2, 'bob'), issued(3, 'cat'), issued(4, 'dan'), used(1, 'ann', 1, 'order-1'), used(2, 'bob', 1), used(3, 'cat', 2, 'order-3'), used(4, 'dan', 3)];
const latest = [created, issued(1, 'ann'), issued(2, 'bob'), issued(3, 'cat'), issued(4, 'dan'), used(1, 'ann', 3, 'order-1'), used(2, 'bob', 3), used(3, 'cat', 3, 'order-3'), used(4, 'dan', 3)];
const read = (raw: unknown[]) => raw.map((e) => parseCouponEvent(JSON.parse(JSON.stringify(e))));

upcasting('given a log holding CouponUsed v1, v2 and v3, when it is read, then every event is the latest version and equals the log written in v3 only', () => {
  const [a, b] = [read(mixed), read(latest)];
  assert.equal(a, b);
  const uses = a.flatMap((e) => (e.type === 'CouponUsed' ? [[e.version, e.data.orderId, e.data.useGeneration]] : []));
  assert.equal(uses, [[3, 'order-1', 1], [3, null, 1], [3, 'order-3', 1], [3, null, 1]]);
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

upcasting('given a use left in the outbox by the scripts before versions (no `v`, no orderId), when the relay reads it, then it produces CouponUsed v3, orderId null, first generation', () => {
  const event = outboxEntryToEvent(['t', 'CouponUsed', 'e', id(99), 'c', couponId, 'at', String(Date.parse('2026-12-02T08:00:00.000Z')),
    'd', JSON.stringify({ issuedCouponId: `${couponId}.00000001`, userId: 'ann', useSequence: 1 }), 'm', '{}']);
  assert.equal(event.type === 'CouponUsed' && [event.version, event.data.orderId, event.data.useGeneration], [3, null, 1]);
});

upcasting('given a use in the outbox as the scripts now write it (`v` 3), when the relay reads it, then it is produced as it is', () => {
  const data = { issuedCouponId: `${couponId}.00000001`, userId: 'ann', useSequence: 4, orderId: 'order-2', useGeneration: 2 };
  const event = outboxEntryToEvent(['t', 'CouponUsed', 'e', id(98), 'c', couponId, 'at', String(Date.parse('2026-12-02T08:00:00.000Z')),
    'd', JSON.stringify(data), 'm', '{}', 'v', '3']);
  assert.equal([event.version, event.data], [3, data]);
});

upcasting('given a log of the version before revoke-unused stayed in force (a use cancelled after a revoke left usable, then used again), when it is read and audited, then it is judged by the rules of its day: no violation, and the coupon is USED', () => {
  const v1 = (n: number, type: string, data: object) => ({ eventId: id(20 + n), type, version: 1, couponId, occurredAt: `2026-12-03T08:0${n}:00.000Z`, meta: {}, data });
  const log = read([created, issued(1, 'ann'), issued(2, 'bob'), used(1, 'ann', 3, 'order-A'),
    v1(1, 'CouponIssuanceClosed', {}), v1(2, 'CouponsRevoked', { revoked: [{ issuedCouponId: `${couponId}.00000002`, userId: 'bob' }], revokedCount: 1 }),
    v1(3, 'CouponUseCancelled', { issuedCouponId: `${couponId}.00000001`, userId: 'ann', orderId: 'order-A', useGeneration: 1, cancelSequence: 1 }),
    { ...used(1, 'ann', 3, 'order-B'), eventId: id(40), occurredAt: '2026-12-03T09:00:00.000Z', data: { ...used(1, 'ann', 3, 'order-B').data, useSequence: 2, useGeneration: 2 } }]);
  assert.equal(log.filter((e) => e.type === 'CouponUseCancelled').map((e) => [e.version, e.data.revokedCount]), [[2, null]]);
  const audit = new HistoryAuditor();
  for (const e of log) audit.add(e);
  assert.equal(audit.violations, []);
  assert.equal(log.reduce<AdmissionCoupon | undefined>(evolve, undefined)!.redemptions.get(1)?.state, 'USED');
});

upcasting('given setting changes of v1 (no revision), when read, then they are v2 at revision 0 and apply in log order', () => {
  const window = (n: number, end: string) => ({ eventId: id(50 + n), type: 'CouponIssueWindowChanged', version: 1, couponId, occurredAt: `2026-12-01T08:3${n}:00.000Z`, meta: {},
    data: { issueStartAt: '2026-12-01T08:00:00.000Z', issueEndAt: end } });
  const log = read([created, window(1, '2026-12-01T12:00:00.000Z'), window(2, '2026-12-01T11:00:00.000Z')]);
  assert.equal(log.slice(1).map((e) => e.type === 'CouponIssueWindowChanged' && [e.version, e.data.revision]), [[2, 0], [2, 0]]);
  assert.is(new Date(log.reduce<AdmissionCoupon | undefined>(evolve, undefined)!.issueEndAt).toISOString(), '2026-12-01T11:00:00.000Z');
});

upcasting.run();
