import * as assert from 'uvu/assert';
import { evolve, may } from '../../src/coupons/rules/coupon-rules.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { given } from '../support/rules-spec.ts';
import { spec } from '../support/spec.ts';

const rules = spec('the coupon rules, given the log, when a command, then a decision');
const issue = (userId: string) => ({ type: 'IssueCoupon' as const, userId });
const use = (sequence: number, userId: string) => ({ type: 'UseCoupon' as const, sequence, userId });

rules('the next in line gets the next sequence', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 2), f.issued(1, 'ann'))
    .when(issue('bob'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 2 }));

rules('a holder asking again learns their coupon, even sold out and closed', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'ann'), f.closed())
    .when(issue('ann'), '2026-12-01T09:30:00.000Z').then({ outcome: 'ALREADY_ISSUED', sequence: 1 }));

rules('closed comes before the window and the stock', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'ann'), f.closed())
    .when(issue('bob'), '2026-12-01T11:00:00.000Z').then({ outcome: 'COUPON_CLOSED' }));

rules('the window ends before the stock is checked', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'ann'))
    .when(issue('bob'), '2026-12-01T10:00:00.000Z').then({ outcome: 'ISSUE_ENDED' }));

rules('the last one gone, SOLD_OUT', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'ann'))
    .when(issue('bob'), '2026-12-01T09:59:59.999Z').then({ outcome: 'SOLD_OUT' }));

rules('a copy of an issue in the log changes nothing', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 2), f.issued(1, 'ann'), f.issued(1, 'ann'))
    .when(issue('bob'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 2 }));

rules('the holder uses it once, inside its validity', () =>
  given(f.created(), f.issued(1, 'ann'))
    .when(use(1, 'ann'), '2026-12-02T08:00:00.000Z').then({ outcome: 'USED', generation: 1 }));

rules('someone else cannot tell it from a missing one', () =>
  given(f.created(), f.issued(1, 'ann'))
    .when(use(1, 'bob'), '2026-12-02T08:00:00.000Z').then({ outcome: 'ISSUED_COUPON_NOT_FOUND' }));

rules('a second use answers when the first was', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z'))
    .when(use(1, 'ann'), '2026-12-03T08:00:00.000Z').then({ outcome: 'ALREADY_USED', usedAt: Date.parse('2026-12-02T08:00:00.000Z') }));

rules('from the end of validity on, EXPIRED', () =>
  given(f.created(), f.issued(1, 'ann'))
    .when(use(1, 'ann'), '2026-12-08T08:00:00.000Z').then({ outcome: 'COUPON_EXPIRED' }));

rules('closing twice says it is closed', () =>
  given(f.created(), f.closed()).when({ type: 'CloseIssuance' }, '2026-12-01T09:30:00.000Z').then({ outcome: 'COUPON_CLOSED' }));

rules('stock added to a sold-out coupon admits again, up to the new total', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.issued(1, 'ann'), f.stockAdded(2, 3))
    .when(issue('bob'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 2 }));

rules('a copy of a stock addition adds nothing', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.stockAdded(1, 2), f.stockAdded(1, 2), f.issued(1, 'ann'), f.issued(2, 'bob'))
    .when(issue('cat'), '2026-12-01T08:30:00.000Z').then({ outcome: 'SOLD_OUT' }));

rules('stock cannot be added once issuing is closed', () =>
  given(f.created(), f.closed()).when({ type: 'AddStock', add: 5 }, '2026-12-01T09:30:00.000Z').then({ outcome: 'COUPON_CLOSED' }));

rules('the total stays within the limit', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 3)).when({ type: 'AddStock', add: 9_999_998 }, '2026-12-01T08:30:00.000Z').then({ outcome: 'STOCK_LIMIT' }));

const moveWindow = (issueStartAt?: string, issueEndAt?: string) => ({
  type: 'ChangeIssueWindow' as const, ...(issueStartAt ? { issueStartAt: Date.parse(issueStartAt) } : {}), ...(issueEndAt ? { issueEndAt: Date.parse(issueEndAt) } : {}),
});

rules('an end brought in ends issuing then', () =>
  given(f.created(), f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T08:30:00.000Z'))
    .when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUE_ENDED' }));

rules('an ended window moved out admits again', () =>
  given(f.created(), f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T12:00:00.000Z'))
    .when(issue('ann'), '2026-12-01T11:00:00.000Z').then({ outcome: 'ISSUED', sequence: 1 }));

rules('the start cannot move once issuing has begun', () =>
  given(f.created()).when(moveWindow('2026-12-01T08:45:00.000Z'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUE_STARTED' }));

rules('the end stays within validity and in the future', () => {
  given(f.created()).when(moveWindow(undefined, '2026-12-09T00:00:00.000Z'), '2026-12-01T08:30:00.000Z').then({ outcome: 'WINDOW_INVALID' });
  given(f.created()).when(moveWindow(undefined, '2026-12-01T08:29:00.000Z'), '2026-12-01T08:30:00.000Z').then({ outcome: 'WINDOW_INVALID' });
});

rules('before it starts, both ends may move', () =>
  given(f.created()).when(moveWindow('2026-12-01T07:30:00.000Z', '2026-12-01T11:00:00.000Z'), '2026-12-01T07:00:00.000Z')
    .then({ outcome: 'WINDOW_CHANGED', issueStartAt: Date.parse('2026-12-01T07:30:00.000Z'), issueEndAt: Date.parse('2026-12-01T11:00:00.000Z') }));

const cancel = (sequence: number, orderId: string | null) => ({ type: 'CancelUse' as const, sequence, orderId });
const revoke = (...holders: [string, number][]) => ({ type: 'RevokeUnused' as const, holders });

rules('the order system cancels a use for its order: ISSUED again inside validity', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'))
    .when(cancel(1, 'order-1'), '2026-12-02T09:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'ISSUED' }));

rules('cancelled after validity, the coupon is EXPIRED', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'))
    .when(cancel(1, 'order-1'), '2026-12-09T00:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'EXPIRED' }));

rules('another order cannot cancel the use', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'))
    .when(cancel(1, 'order-2'), '2026-12-02T09:00:00.000Z').then({ outcome: 'ORDER_MISMATCH' }));

rules('a use that named no order is cancelled naming none', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1))
    .when(cancel(1, null), '2026-12-02T09:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'ISSUED' }));

rules('the same cancellation again answers as the first', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'), f.useCancelled(1, 'ann', 1, '2026-12-02T09:00:00.000Z', 'order-1'))
    .when(cancel(1, 'order-1'), '2026-12-02T10:00:00.000Z').then({ outcome: 'ALREADY_CANCELLED', status: 'ISSUED' }));

rules('an unused coupon has no use to cancel', () =>
  given(f.created(), f.issued(1, 'ann')).when(cancel(1, 'order-1'), '2026-12-02T09:00:00.000Z').then({ outcome: 'NOT_USED' }));

rules('a sequence never issued is not found', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'))
    .when(cancel(2, 'order-1'), '2026-12-02T09:00:00.000Z').then({ outcome: 'ISSUED_COUPON_NOT_FOUND' }));

rules('people are issued coupons, a service is not; a holder uses their own; the order system and an admin use one on a holder\'s behalf and cancel a use; a holder cannot cancel', () => {
  assert.equal((['user', 'service', 'admin'] as const).map((p) => [may(p, 'issue'), may(p, 'useOnBehalf'), may(p, 'cancelUse')]), [[true, false, false], [false, true, true], [true, true, true]]);
});

const afterRevoke = [f.created(), f.issued(1, 'ann'), f.issued(2, 'bob'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'), f.closed(), f.revoked([[2, 'bob']], 1)];

rules('after revoke-unused, a cancelled use leaves the coupon REVOKED', () =>
  given(...afterRevoke).when(cancel(1, 'order-1'), '2026-12-03T09:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'REVOKED' }));

rules('after revoke-unused, even a run that revoked nothing, a cancelled use leaves the coupon REVOKED', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'), f.closed(), f.revoked([], 0))
    .when(cancel(1, 'order-1'), '2026-12-03T09:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'REVOKED' }));

rules('a use cancelled into REVOKED cannot be used again, and the same cancellation answers the same', () => {
  const log = [...afterRevoke, f.useCancelled(1, 'ann', 1, '2026-12-03T09:00:00.000Z', 'order-1', 1, 2)];
  given(...log).when(use(1, 'ann'), '2026-12-03T10:00:00.000Z').then({ outcome: 'COUPON_REVOKED' });
  given(...log).when(cancel(1, 'order-1'), '2026-12-03T10:00:00.000Z').then({ outcome: 'ALREADY_CANCELLED', status: 'REVOKED' });
  given(...log).when(cancel(1, 'order-2'), '2026-12-03T10:00:00.000Z').then({ outcome: 'NOT_USED' });
});

rules('a coupon cancelled and then revoked answers its cancellation as REVOKED; one never used has none to cancel', () => {
  const log = [f.created(), f.issued(1, 'ann'), f.issued(2, 'bob'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'),
    f.useCancelled(1, 'ann', 1, '2026-12-02T09:00:00.000Z', 'order-1'), f.closed(), f.revoked([[1, 'ann'], [2, 'bob']], 2)];
  given(...log).when(cancel(1, 'order-1'), '2026-12-03T10:00:00.000Z').then({ outcome: 'ALREADY_CANCELLED', status: 'REVOKED' });
  given(...log).when(cancel(2, null), '2026-12-03T10:00:00.000Z').then({ outcome: 'NOT_USED' });
});

rules('a cancelled use is followed by a new use, the next generation', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'), f.useCancelled(1, 'ann', 1, '2026-12-02T09:00:00.000Z', 'order-1'))
    .when(use(1, 'ann'), '2026-12-02T10:00:00.000Z').then({ outcome: 'USED', generation: 2 }));

rules('a copy of the first use after its cancellation changes nothing', () =>
  given(f.created(), f.issued(1, 'ann'), ...((used) => [used, f.useCancelled(1, 'ann', 1, '2026-12-02T09:00:00.000Z', 'order-1'), used])(f.used(1, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1')))
    .when(use(1, 'ann'), '2026-12-02T10:00:00.000Z').then({ outcome: 'USED', generation: 2 }));

rules('revoking takes every named coupon not in use, and counts the total', () =>
  given(f.created(), f.issued(1, 'ann'), f.issued(2, 'bob'), f.issued(3, 'cat'), f.used(2, 'bob', 1), f.revoked([[3, 'cat']], 1))
    .when(revoke(['ann', 1], ['bob', 2], ['cat', 3], ['ann', 1]), '2026-12-03T09:00:00.000Z').then({ outcome: 'REVOKED', sequences: [1], revokedCount: 2 }));

rules('a coupon whose use was cancelled can be revoked', () =>
  given(f.created(), f.issued(1, 'ann'), f.used(1, 'ann', 1), f.useCancelled(1, 'ann', 1))
    .when(revoke(['ann', 1]), '2026-12-03T09:00:00.000Z').then({ outcome: 'REVOKED', sequences: [1], revokedCount: 1 }));

rules('a revoked coupon cannot be used, nor its absent use cancelled', () => {
  const log = [f.created(), f.issued(1, 'ann'), f.revoked([[1, 'ann']], 1)];
  given(...log).when(use(1, 'ann'), '2026-12-03T09:00:00.000Z').then({ outcome: 'COUPON_REVOKED' });
  given(...log).when(cancel(1, null), '2026-12-03T09:00:00.000Z').then({ outcome: 'NOT_USED' });
});

rules('a holder named with another\'s sequence revokes nothing', () =>
  given(f.created(), f.issued(1, 'ann'), f.issued(2, 'bob'))
    .when(revoke(['ann', 2]), '2026-12-03T09:00:00.000Z').then({ outcome: 'REVOKED', sequences: [], revokedCount: 0 }));

const gold = { tier: ['gold', 'vip'] };
const issueWith = (userId: string, claims: Record<string, string | string[]>) => ({ type: 'IssueCoupon' as const, userId, claims });

rules('a caller whose token lacks a required claim value is NOT_ELIGIBLE; one with it, or with it in a list, is issued', () => {
  const log = [f.created(), f.eligibilityChanged(gold)];
  given(...log).when(issueWith('ann', { tier: 'silver' }), '2026-12-01T08:30:00.000Z').then({ outcome: 'NOT_ELIGIBLE' });
  given(...log).when(issueWith('ann', {}), '2026-12-01T08:30:00.000Z').then({ outcome: 'NOT_ELIGIBLE' });
  given(...log).when(issueWith('ann', { tier: 'vip' }), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
  given(...log).when(issueWith('ann', { tier: ['bronze', 'gold'] }), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
});

rules('every required claim must match', () =>
  given(f.created(), f.eligibilityChanged({ tier: ['gold'], region: ['eu'] }))
    .when(issueWith('ann', { tier: 'gold', region: 'us' }), '2026-12-01T08:30:00.000Z').then({ outcome: 'NOT_ELIGIBLE' }));

rules('requirements dropped, anyone is issued', () =>
  given(f.created(), f.eligibilityChanged(gold), f.eligibilityChanged(null))
    .when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 }));

rules('sold out comes before eligibility, as an answer from memory gives it', () =>
  given(f.created('2026-12-01T08:00:00.000Z', 1), f.eligibilityChanged(gold), f.issued(1, 'ann', '2026-12-01T08:10:00.000Z', { tier: 'gold' }))
    .when(issue('bob'), '2026-12-01T08:30:00.000Z').then({ outcome: 'SOLD_OUT' }));

rules('an allow-list comes into force when replaced in, not chunk by chunk; users not on it are NOT_ELIGIBLE', () => {
  const uploading = [f.created(), f.allowListChunk(1, ['ann', 'bob']), f.allowListChunk(1, ['cat'])];
  given(...uploading).when(issue('dan'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
  given(...uploading, f.allowListReplaced(1, 3)).when(issue('dan'), '2026-12-01T08:30:00.000Z').then({ outcome: 'NOT_ELIGIBLE' });
  given(...uploading, f.allowListReplaced(1, 3)).when(issue('cat'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
});

rules('a new list replaces the old one whole; removed, anyone is issued again', () => {
  const log = [f.created(), f.allowListChunk(1, ['ann']), f.allowListReplaced(1, 1), f.allowListChunk(2, ['bob']), f.allowListReplaced(2, 1)];
  given(...log).when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'NOT_ELIGIBLE' });
  given(...log, f.allowListReplaced(null, 0)).when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
});

rules('a copy of a chunk re-sent after its list came into force changes nothing', () => {
  const chunk = f.allowListChunk(1, ['ann']);
  given(f.created(), chunk, f.allowListReplaced(1, 1), chunk).when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
});

rules('a late copy of an older allow-list (a stalled relay\'s) changes nothing: the newer list stays in force', () => {
  const v1 = f.allowListReplaced(1, 1, '2026-12-01T08:06:00.000Z', 1);
  const log = [f.created(), f.allowListChunk(1, ['ann']), v1, f.allowListChunk(2, ['bob']), f.allowListReplaced(2, 1, '2026-12-01T08:07:00.000Z', 2), f.allowListChunk(1, ['ann']), v1];
  given(...log).when(issue('bob'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
  given(...log).when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'NOT_ELIGIBLE' });
});

rules('a late copy of an older window or claims change moves nothing; changes from before revisions apply in log order', () => {
  const early = f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T08:30:00.000Z', '2026-12-01T08:10:00.000Z', 1);
  const late = f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T12:00:00.000Z', '2026-12-01T08:20:00.000Z', 2);
  given(f.created(), early, late, early).when(issue('ann'), '2026-12-01T11:00:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
  const gold = f.eligibilityChanged({ tier: ['gold'] }, '2026-12-01T08:05:00.000Z', 3);
  given(f.created(), gold, f.eligibilityChanged(null, '2026-12-01T08:06:00.000Z', 4), gold).when(issue('ann'), '2026-12-01T08:30:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
  given(f.created(), f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T12:00:00.000Z'), f.windowChanged('2026-12-01T08:00:00.000Z', '2026-12-01T08:30:00.000Z'))
    .when(issue('ann'), '2026-12-01T11:00:00.000Z').then({ outcome: 'ISSUE_ENDED' });
});


/** An event as a stock bucket records it: `bucket` on it, and on an issue its nth there. */
const inBucket = (event: CouponEvent, bucket: number, extra: Record<string, number> = {}): CouponEvent => ({ ...event, data: { ...event.data, bucket, ...extra } } as CouponEvent);
const issuedCouponIdOf = (sequence: number) => (f.issued(sequence, 'x').data as { issuedCouponId: string }).issuedCouponId;
const bucketed = [
  f.created('2026-12-01T08:00:00.000Z', 9), inBucket(f.issued(7, 'ann'), 2, { bucketIssued: 1 }), inBucket(f.issued(1, 'bob'), 0, { bucketIssued: 1 }),
  inBucket(f.used(7, 'ann', 1, '2026-12-02T08:00:00.000Z', 'order-1'), 2), inBucket(f.used(1, 'bob', 1, '2026-12-02T08:00:00.000Z', 'order-2'), 0),
  inBucket(f.useCancelled(1, 'bob', 1, '2026-12-02T09:00:00.000Z', 'order-2'), 0),
];

rules('on a bucketed coupon a cancellation is numbered in its bucket, and any sequence of the total may be the one in use', () =>
  given(...bucketed).when({ ...cancel(7, 'order-1'), bucket: 2 }, '2026-12-02T10:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'ISSUED' }, [{
    type: 'CouponUseCancelled', data: { issuedCouponId: issuedCouponIdOf(7), userId: 'ann', orderId: 'order-1', useGeneration: 1, cancelSequence: 1, bucket: 2 },
  }]));

rules('on a bucketed coupon revoke-unused is in force in a bucket once its run reached that bucket, and each bucket counts its own revocations', () => {
  const reachedBucket0 = [...bucketed, f.closed(), inBucket(f.revoked([[1, 'bob']], 1), 0)];
  given(...reachedBucket0).when({ ...cancel(7, 'order-1'), bucket: 2 }, '2026-12-03T09:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'ISSUED' });
  const reachedBoth = [...reachedBucket0, inBucket(f.revoked([], 0), 2)];
  given(...reachedBoth).when({ ...cancel(7, 'order-1'), bucket: 2 }, '2026-12-03T09:00:00.000Z').then({ outcome: 'USE_CANCELLED', generation: 1, status: 'REVOKED' }, [{
    type: 'CouponUseCancelled', data: { issuedCouponId: issuedCouponIdOf(7), userId: 'ann', orderId: 'order-1', useGeneration: 1, cancelSequence: 1, revokedCount: 1, bucket: 2 },
  }]);
  const coupon = reachedBoth.reduce<ReturnType<typeof evolve>>(evolve, undefined)!;
  assert.equal([coupon.revokedCount, coupon.cancelledCount, coupon.buckets?.get(0)?.revokedCount, coupon.buckets?.get(2)?.unusedRevoked], [1, 1, 1, true]);
});

rules('a copy of a bucket\'s revocation counts nothing twice toward the coupon\'s sum', () => {
  const revoked = inBucket(f.revoked([[1, 'bob']], 1), 0);
  const coupon = [...bucketed, f.closed(), revoked, revoked].reduce<ReturnType<typeof evolve>>(evolve, undefined)!;
  assert.is(coupon.revokedCount, 1);
});

rules('on a bucketed coupon each bucket issues by the window and claims that reached it: the created ones until it announces a change', () => {
  const created = f.created('2026-12-01T08:00:00.000Z', 9);
  const split = { ...created, data: { ...created.data, buckets: 3 } } as CouponEvent;
  const end = String((created.data as { issueEndAt: string }).issueEndAt);
  const later = new Date(Date.parse(end) + 3_600_000).toISOString();
  const start = String((created.data as { issueStartAt: string }).issueStartAt);
  const afterEnd = new Date(Date.parse(end) + 60_000).toISOString();
  const moved = [split, f.windowChanged(start, later, '2026-12-01T08:20:00.000Z', 1)];
  given(...moved).when({ ...issue('ann'), bucket: 2 }, afterEnd).then({ outcome: 'ISSUE_ENDED' });
  given(...moved).when({ ...issue('ann'), bucket: 0 }, afterEnd).then({ outcome: 'ISSUED', sequence: 1 });
  const announced = [...moved, inBucket(f.windowChanged(start, later, '2026-12-01T08:21:00.000Z', 1), 2)];
  given(...announced).when({ ...issue('ann'), bucket: 2 }, afterEnd).then({ outcome: 'ISSUED', sequence: 1 });
  const gold = [...announced, f.eligibilityChanged({ tier: ['gold'] }, '2026-12-01T08:30:00.000Z', 2)];
  given(...gold).when({ ...issue('ann'), bucket: 2 }, '2026-12-01T09:00:00.000Z').then({ outcome: 'ISSUED', sequence: 1 });
  given(...gold, inBucket(f.eligibilityChanged({ tier: ['gold'] }, '2026-12-01T08:31:00.000Z', 2), 2)).when({ ...issue('ann'), bucket: 2 }, '2026-12-01T09:00:00.000Z').then({ outcome: 'NOT_ELIGIBLE' });
});

rules('on a bucketed coupon with an allow-list each bucket issues by the list whose share it announced: the empty one it was created with until then, whatever order the log brings the announcement in', () => {
  const created = f.created('2026-12-01T08:00:00.000Z', 9);
  const split = { ...created, data: { ...created.data, buckets: 3, eligibility: { allowList: true } } } as CouponEvent;
  const at = '2026-12-01T09:00:00.000Z';
  const chunk = f.allowListChunk(1, ['ann', 'bob']);
  const replaced = f.allowListReplaced(1, 2, '2026-12-01T08:06:00.000Z', 1);
  const announced = inBucket(f.allowListReplaced(1, 1, '2026-12-01T08:07:00.000Z', 1), 2);
  given(split, chunk, replaced).when({ ...issue('ann'), bucket: 0 }, at).then({ outcome: 'ISSUED', sequence: 1 });
  given(split, chunk, replaced).when({ ...issue('ann'), bucket: 2 }, at).then({ outcome: 'NOT_ELIGIBLE' });
  given(split, chunk, replaced, announced).when({ ...issue('ann'), bucket: 2 }, at).then({ outcome: 'ISSUED', sequence: 1 });
  given(split, chunk, replaced, announced).when({ ...issue('cat'), bucket: 2 }, at).then({ outcome: 'NOT_ELIGIBLE' });
  // The bucket's announcement read before bucket 0's change, and even before its chunks: the list is the same one.
  given(split, chunk, announced, replaced).when({ ...issue('bob'), bucket: 2 }, at).then({ outcome: 'ISSUED', sequence: 1 });
  given(split, announced, chunk, replaced).when({ ...issue('bob'), bucket: 2 }, at).then({ outcome: 'ISSUED', sequence: 1 });
  const removed = [split, chunk, replaced, announced, f.allowListReplaced(null, 0, '2026-12-01T08:10:00.000Z', 2)];
  given(...removed).when({ ...issue('cat'), bucket: 2 }, at).then({ outcome: 'NOT_ELIGIBLE' });
  given(...removed, inBucket(f.allowListReplaced(null, 0, '2026-12-01T08:11:00.000Z', 2), 2)).when({ ...issue('cat'), bucket: 2 }, at).then({ outcome: 'ISSUED', sequence: 1 });
  // A late copy of the older announcement takes nothing back.
  given(...removed, inBucket(f.allowListReplaced(null, 0, '2026-12-01T08:11:00.000Z', 2), 2), announced).when({ ...issue('cat'), bucket: 2 }, at).then({ outcome: 'ISSUED', sequence: 1 });
  // Once every other bucket took a newer change, no bucket can take list 1 again: the rules let it go.
  const everyBucketMovedOn = [split, chunk, replaced, announced, inBucket(f.allowListReplaced(1, 1, '2026-12-01T08:07:00.000Z', 1), 1),
    f.allowListChunk(2, ['dan']), f.allowListReplaced(2, 1, '2026-12-01T08:12:00.000Z', 3)];
  const kept = (events: CouponEvent[]) => [...(events.reduce<ReturnType<typeof evolve>>(evolve, undefined)!.lists?.keys() ?? [])];
  assert.equal(kept(everyBucketMovedOn), [1, 2], 'list 1 kept while buckets 1 and 2 may still take only it');
  const taken = [...everyBucketMovedOn, inBucket(f.allowListReplaced(2, 0, '2026-12-01T08:13:00.000Z', 3), 1), inBucket(f.allowListReplaced(2, 1, '2026-12-01T08:13:00.000Z', 3), 2)];
  assert.equal(kept(taken), [2]);
});

rules('on a coupon one per person, the person its claim names is issued one, whichever account asks; a token naming none is refused', () => {
  const created = f.created('2026-12-01T08:00:00.000Z', 9);
  const perPhone = { ...created, data: { ...created.data, onePer: { claim: 'phone' } } } as CouponEvent;
  const issuedToAnn = { ...f.issued(1, 'ann'), data: { ...f.issued(1, 'ann').data, person: 'p1' } } as CouponEvent;
  const at = '2026-12-01T09:00:00.000Z';
  given(perPhone).when(issueWith('ann', { phone: 'p1' }), at).then({ outcome: 'ISSUED', sequence: 1 }, [{
    type: 'CouponIssued', data: { ...(issuedToAnn.data as object), issuedCouponId: issuedCouponIdOf(1) } as never,
  }]);
  given(perPhone, issuedToAnn).when(issueWith('bob', { phone: 'p1' }), at).then({ outcome: 'PERSON_ALREADY_ISSUED' });
  given(perPhone, issuedToAnn).when(issueWith('ann', { phone: 'p2' }), at).then({ outcome: 'ALREADY_ISSUED', sequence: 1 });
  given(perPhone, issuedToAnn).when(issueWith('bob', { phone: 'p2' }), at).then({ outcome: 'ISSUED', sequence: 2 });
  for (const claims of [{}, { phone: '' }, { phone: ['p3'] }] as Record<string, string | string[]>[]) given(perPhone).when(issueWith('cat', claims), at).then({ outcome: 'IDENTITY_REQUIRED' });
  const perConstructor = { ...created, data: { ...created.data, onePer: { claim: 'constructor' } } } as CouponEvent;
  given(perConstructor).when(issueWith('cat', {}), at).then({ outcome: 'IDENTITY_REQUIRED' });
});

rules.run();
