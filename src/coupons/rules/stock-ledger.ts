import type { EventOf } from '../../events/coupon-events.ts';

export type Range = [first: number, last: number];

/** Stock moved out of a bucket and not yet taken in by the other. */
export interface InFlight {
  transferId: string;
  from: number;
  to: number;
  first: number;
  last: number;
  opens: boolean;
}

/** Takes `first`..`last` out of `ranges` (sorted, disjoint) when they hold all of it; false when they do not. */
function takeOut(ranges: Range[], first: number, last: number): boolean {
  const i = ranges.findIndex(([lo, hi]) => lo <= first && last <= hi);
  if (i < 0) return false;
  const [lo, hi] = ranges[i]!;
  const rest: Range[] = [];
  if (lo < first) rest.push([lo, first - 1]);
  if (last < hi) rest.push([last + 1, hi]);
  ranges.splice(i, 1, ...rest);
  return true;
}

function putIn(ranges: Range[], first: number, last: number): void {
  ranges.push([first, last]);
  ranges.sort((a, b) => a[0] - b[0]);
}

/**
 * The unissued sequences of a coupon split into stock buckets, bucket by bucket, as the log moves them: bucket
 * 0 holds 1..total at creation (and what stock added brings); a transfer takes a range out of the giver (CouponStockMoved), holds it in
 * flight, and puts it in the taker (CouponStockReceived, once); an issue takes its sequence out of the issuing
 * bucket. Each step that takes what its bucket does not hold is a violation: a sequence issued twice or from
 * stock its bucket never had, a transfer of stock the giver did not have, a transfer received but never sent (a
 * second event of a transfer already recorded is a copy: see `knows`).
 */
export class StockLedger {
  private readonly buckets = new Map<number, Range[]>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Transfer id → the bucket that took it in. */
  private readonly received = new Map<string, number>();

  private total: number;

  constructor(total: number) {
    this.total = total;
    this.buckets.set(0, [[1, total]]);
  }

  /** Stock added: the new sequences are bucket 0's. */
  added(total: number): void {
    if (total > this.total) putIn(this.of(0), this.total + 1, total);
    this.total = Math.max(this.total, total);
  }

  private of(bucket: number): Range[] {
    let ranges = this.buckets.get(bucket);
    if (!ranges) this.buckets.set(bucket, (ranges = []));
    return ranges;
  }

  moved(m: EventOf<'CouponStockMoved'>['data']): string | undefined {
    const nothing = m.first === m.last + 1 && m.opens === true;
    if (!nothing && (m.first > m.last || !takeOut(this.of(m.fromBucket), m.first, m.last))) return `bucket ${m.fromBucket} moved ${m.first}-${m.last}, which it did not hold`;
    this.inFlight.set(m.transferId, { transferId: m.transferId, from: m.fromBucket, to: m.toBucket, first: m.first, last: m.last, opens: m.opens === true });
    return undefined;
  }

  arrived(m: EventOf<'CouponStockReceived'>['data']): string | undefined {
    const sent = this.inFlight.get(m.transferId);
    if (!sent) return `transfer ${m.transferId} received but never sent`;
    if (sent.to !== m.toBucket || sent.first !== m.first || sent.last !== m.last) return `transfer ${m.transferId} received as other stock than was sent`;
    this.inFlight.delete(m.transferId);
    this.received.set(m.transferId, m.toBucket);
    if (m.first <= m.last) putIn(this.of(m.toBucket), m.first, m.last);
    return undefined;
  }

  issued(bucket: number, sequence: number): string | undefined {
    return takeOut(this.of(bucket), sequence, sequence) ? undefined : `bucket ${bucket} issued #${sequence}, which it did not hold`;
  }

  /** The unissued sequences bucket `bucket` holds, lowest first. */
  holding(bucket: number): readonly Range[] {
    return this.buckets.get(bucket) ?? [];
  }

  /** Transfers moved and not taken in yet. */
  pending(): InFlight[] {
    return [...this.inFlight.values()];
  }

  /** The transfers bucket `bucket` took in. */
  takenIn(bucket: number): string[] {
    return [...this.received].flatMap(([id, to]) => (to === bucket ? [id] : []));
  }

  /** Whether the event with this transfer id was recorded already (a copy). */
  knows(type: 'CouponStockMoved' | 'CouponStockReceived', transferId: string): boolean {
    return type === 'CouponStockMoved' ? this.inFlight.has(transferId) || this.received.has(transferId) : this.received.has(transferId);
  }
}
