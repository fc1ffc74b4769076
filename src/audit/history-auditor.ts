import { parseIssuedCouponId } from '../coupons/ids.ts';
import type { CouponEvent, EventOf } from '../events/coupon-events.ts';

export interface ReplayedCoupon {
  couponId: string;
  definition?: EventOf<'CouponCreated'>['data'];
  closedAt?: Date;
  /** issuedCouponId → holder and when */
  issued: Map<string, { userId: string; sequence: number; issuedAt: Date }>;
  holders: Map<string, string>;
  /** issuedCouponId → when and for which order */
  used: Map<string, { usedAt: Date; orderId: string | null }>;
}

/**
 * Folds the log event by event and checks the invariants the platform exists for. A copy of an event
 * already seen (relay redelivery) is counted and otherwise ignored, as every projection ignores it.
 */
export class HistoryAuditor {
  readonly coupons = new Map<string, ReplayedCoupon>();
  readonly violations: string[] = [];
  events = 0;
  duplicates = 0;
  private readonly seen = new Set<string>();

  add(event: CouponEvent): void {
    if (this.seen.has(event.eventId)) {
      this.duplicates++;
      return;
    }
    this.seen.add(event.eventId);
    this.events++;
    const at = new Date(event.occurredAt);
    const c = this.coupons.get(event.couponId);
    const violation = (what: string): void => void this.violations.push(`${event.couponId} ${event.type} ${event.eventId} at ${event.occurredAt}: ${what}`);

    if (event.type === 'CouponCreated') {
      if (c?.definition) return violation('created twice');
      this.coupons.set(event.couponId, { ...(c ?? { couponId: event.couponId, issued: new Map(), holders: new Map(), used: new Map() }), definition: event.data });
      return;
    }
    if (!c?.definition) return violation('happened to a coupon that was never created');
    const d = c.definition;

    switch (event.type) {
      case 'CouponIssued': {
        const { issuedCouponId, userId } = event.data;
        if (at < new Date(d.issueStartAt) || at >= new Date(d.issueEndAt)) violation('issued outside the issue window');
        if (c.closedAt && at >= c.closedAt) violation('issued after issuing was closed');
        if (c.holders.has(userId)) violation(`second coupon for user ${userId}`);
        if (c.issued.has(issuedCouponId)) return violation(`${issuedCouponId} issued twice`);
        if (c.issued.size + 1 > d.totalQuantity) violation(`over-issued: ${c.issued.size + 1} of ${d.totalQuantity}`);
        c.issued.set(issuedCouponId, { userId, sequence: parseIssuedCouponId(issuedCouponId)?.sequence ?? 0, issuedAt: at });
        c.holders.set(userId, issuedCouponId);
        return;
      }
      case 'CouponUsed': {
        const { issuedCouponId, userId } = event.data;
        const issued = c.issued.get(issuedCouponId);
        if (!issued) return violation(`${issuedCouponId} used but never issued`);
        if (issued.userId !== userId) violation(`${issuedCouponId} used by ${userId}, not its holder ${issued.userId}`);
        if (c.used.has(issuedCouponId)) return violation(`${issuedCouponId} used twice`);
        if (at < new Date(d.validFrom) || at >= new Date(d.validUntil)) violation(`${issuedCouponId} used outside its validity`);
        c.used.set(issuedCouponId, { usedAt: at, orderId: event.data.orderId ?? null });
        return;
      }
      case 'CouponIssuanceClosed':
        if (c.closedAt) return violation('closed twice');
        c.closedAt = at;
        return;
    }
  }
}
