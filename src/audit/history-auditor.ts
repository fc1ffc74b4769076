import { parseIssuedCouponId } from '../coupons/ids.ts';
import type { CouponEvent, EventOf } from '../events/coupon-events.ts';

export interface ReplayedCoupon {
  couponId: string;
  definition?: EventOf<'CouponCreated'>['data'];
  createdBy?: string;
  closedAt?: Date;
  closedBy?: string;
  /** issuedCouponId → holder and the event that issued it */
  issued: Map<string, { userId: string; sequence: number; eventId: string }>;
  holders: Map<string, string>;
  /** issuedCouponId → when, for which order, and the event that used it */
  used: Map<string, { usedAt: Date; orderId: string | null; eventId: string }>;
}

/**
 * Folds the log event by event and checks the invariants the platform exists for. A copy of an event
 * already seen (relay redelivery) is counted and otherwise ignored, as every projection ignores it. A copy
 * is recognised by the fact it would record again (the issue, use, creation or close it names was recorded
 * by an event with its id), so no set of every event id is kept: memory is the coupons' own state.
 */
export class HistoryAuditor {
  readonly coupons = new Map<string, ReplayedCoupon>();
  readonly violations: string[] = [];
  events = 0;
  duplicates = 0;

  private isCopy(event: CouponEvent): boolean {
    const c = this.coupons.get(event.couponId);
    switch (event.type) {
      case 'CouponCreated': return c?.createdBy === event.eventId;
      case 'CouponIssued': return c?.issued.get(event.data.issuedCouponId)?.eventId === event.eventId;
      case 'CouponUsed': return c?.used.get(event.data.issuedCouponId)?.eventId === event.eventId;
      case 'CouponIssuanceClosed': return c?.closedBy === event.eventId;
    }
  }

  add(event: CouponEvent): void {
    if (this.isCopy(event)) {
      this.duplicates++;
      return;
    }
    this.events++;
    const at = new Date(event.occurredAt);
    const c = this.coupons.get(event.couponId);
    const violation = (what: string): void => void this.violations.push(`${event.couponId} ${event.type} ${event.eventId} at ${event.occurredAt}: ${what}`);

    if (event.type === 'CouponCreated') {
      if (c?.definition) return violation('created twice');
      this.coupons.set(event.couponId, {
        ...(c ?? { couponId: event.couponId, issued: new Map(), holders: new Map(), used: new Map() }), definition: event.data, createdBy: event.eventId,
      });
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
        c.issued.set(issuedCouponId, { userId, sequence: parseIssuedCouponId(issuedCouponId)?.sequence ?? 0, eventId: event.eventId });
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
        c.used.set(issuedCouponId, { usedAt: at, orderId: event.data.orderId ?? null, eventId: event.eventId });
        return;
      }
      case 'CouponIssuanceClosed':
        if (c.closedAt) return violation('closed twice');
        c.closedAt = at;
        c.closedBy = event.eventId;
        return;
    }
  }
}
