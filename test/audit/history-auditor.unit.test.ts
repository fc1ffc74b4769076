import * as assert from 'uvu/assert';
import { HistoryAuditor } from '../../src/audit/history-auditor.ts';
import { redemptionsOf } from '../../src/audit/redemptions-of.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';

const auditor = spec('the history auditor');

auditor('given a history admission must never allow, then each broken invariant is named', () => {
  const audit = new HistoryAuditor();
  for (const e of [f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'u1'), f.issued(2, 'u1'), f.issued(3, 'u2'),
    f.used(1, 'u9', 1), f.used(1, 'u1', 2), f.used(1, 'u1', 3), f.issued(5, 'u5', '2026-12-01T07:00:00.000Z'),
    f.closed('2026-12-01T09:00:00.000Z'), f.issued(4, 'u4', '2026-12-01T09:30:00.000Z'), f.stockAdded(1, 2, '2026-12-01T09:40:00.000Z')]) audit.add(e);
  const found = audit.violations.join('\n');
  for (const expected of [/second coupon for user u1/, /over-issued: 2 of 1/, /used by u9, not its holder u1/, /used twice/,
    /issued after issuing was closed/, /issued outside the issue window/, /stock added after issuing was closed/]) assert.match(found, expected);
});

auditor('given a clean history with a redelivered copy, then no violation and the copy is counted apart', () => {
  const audit = new HistoryAuditor();
  const issued = f.issued(1, 'u1');
  for (const e of [f.created(), issued, f.used(1, 'u1', 1), issued]) audit.add(e);
  assert.equal(audit.violations, []);
  assert.is(audit.duplicates, 1);
  assert.is(audit.events, 3);
});

auditor('given stock added before the sell-out, then the issues up to the new total are no violation, and a false total is', () => {
  const audit = new HistoryAuditor();
  for (const e of [f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'u1'), f.stockAdded(1, 2), f.issued(2, 'u2', '2026-12-01T08:30:00.000Z')]) audit.add(e);
  assert.equal(audit.violations, []);
  audit.add(f.stockAdded(1, 5, '2026-12-01T08:40:00.000Z'));
  assert.match(audit.violations.join('\n'), /stock added says a total of 5, the log before it 2 \+ 1/);
});

auditor('given the window moved, then issues inside the new window are no violation and outside it are; a start moved after issuing began is', () => {
  const audit = new HistoryAuditor();
  for (const e of [f.created('2026-12-01T08:00:00.000Z', 5), f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T12:00:00.000Z'),
    f.issued(1, 'u1', '2026-12-01T11:00:00.000Z')]) audit.add(e);
  assert.equal(audit.violations, []);
  for (const e of [f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T11:30:00.000Z', '2026-12-01T11:10:00.000Z'), f.issued(2, 'u2', '2026-12-01T11:40:00.000Z'),
    f.windowChanged('2026-12-01T09:00:00.000Z', '2026-12-01T11:30:00.000Z', '2026-12-01T11:20:00.000Z')]) audit.add(e);
  assert.match(audit.violations.join('\n'), /issued outside the issue window/);
  assert.match(audit.violations.join('\n'), /issue window start moved after issuing began/);
});

auditor('given use, cancel, use again, with copies of each re-sent after, then no violation and the copies counted apart', () => {
  const audit = new HistoryAuditor();
  const run = [f.used(1, 'u1', 1, '2026-12-02T08:00:00.000Z', 'o-1'), f.useCancelled(1, 'u1', 1, '2026-12-02T09:00:00.000Z', 'o-1'),
    f.used(1, 'u1', 2, '2026-12-02T10:00:00.000Z', 'o-2', 2)];
  for (const e of [f.created(), f.issued(1, 'u1'), ...run, ...run]) audit.add(e);
  assert.equal(audit.violations, []);
  assert.is(audit.duplicates, 3);
  assert.equal([...redemptionsOf(audit.coupons.get(f.couponId)!, 'USED').values()].map((u) => u.orderId), ['o-2']);
});

auditor('given cancellations and revocations the rules refuse, then each is named', () => {
  const audit = new HistoryAuditor();
  for (const e of [f.created(), f.issued(1, 'u1'), f.issued(2, 'u2'), f.issued(3, 'u3'),
    f.useCancelled(1, 'u1', 1, '2026-12-02T07:00:00.000Z'),
    f.used(2, 'u2', 1, '2026-12-02T08:00:00.000Z', 'o-2'), f.useCancelled(2, 'u2', 1, '2026-12-02T09:00:00.000Z', 'o-9'),
    f.revoked([[2, 'u2'], [3, 'u3']], 2), f.used(3, 'u3', 2, '2026-12-03T09:00:00.000Z'), f.revoked([[1, 'u2']], 3, '2026-12-03T10:00:00.000Z')]) audit.add(e);
  const found = audit.violations.join('\n');
  for (const expected of [/use cancelled while not in use/, /use cancelled for order o-9, not the order that used it/,
    /\.00000002 revoked while in use/, /revoke says a total of 2, the log before it 1/, /used after it was revoked/, /revoked from u2, who does not hold it/]) assert.match(found, expected);
});

const inBucket = (event: CouponEvent, bucket: number, extra: Record<string, number> = {}): CouponEvent => ({ ...event, data: { ...event.data, bucket, ...extra } } as CouponEvent);

auditor('given a bucketed coupon, then a bucket issuing by the window that reached it is no violation, and a bucket announcing a window bucket 0 never made is', () => {
  const created = f.created('2026-12-01T08:00:00.000Z', 6);
  const split = { ...created, data: { ...created.data, buckets: 3 } } as CouponEvent;
  const later = '2026-12-01T12:00:00.000Z';
  const audit = new HistoryAuditor();
  // Bucket 2's announcement of the change reached the log before the coupon's own event of it.
  for (const e of [split, inBucket(f.windowChanged('2026-12-01T08:00:00.000Z', later, '2026-12-01T08:21:00.000Z', 1), 2),
    f.windowChanged('2026-12-01T08:00:00.000Z', later, '2026-12-01T08:20:00.000Z', 1)]) audit.add(e);
  assert.equal(audit.violations, []);
  audit.add(inBucket(f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-02T12:00:00.000Z', '2026-12-01T08:22:00.000Z', 1), 1));
  assert.match(audit.violations.join('\n'), /window change 1 says .*, another record of it/);
  const plain = new HistoryAuditor();
  for (const e of [f.created(), inBucket(f.eligibilityChanged({ tier: ['gold'] }, '2026-12-01T08:05:00.000Z', 1), 1)]) plain.add(e);
  assert.match(plain.violations.join('\n'), /claims change on a coupon not split into buckets/);
});

auditor.run();
