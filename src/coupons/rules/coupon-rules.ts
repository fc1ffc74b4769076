import type { CouponEvent } from '../../events/coupon-events.ts';
import { parseIssuedCouponId } from '../ids.ts';

/**
 * The coupon's rules, stated once: `decide(command, state, now)` says what a command may do, `evolve(state,
 * event)` folds what the log says happened, and the status functions say where a coupon and an issued coupon
 * stand. The Lua scripts in `../admission` are the atomic executor of `decide` (a random test holds the two to
 * the same answers); restore folds the log with `evolve`; the auditor checks every recorded event was a decision
 * `decide` allows; every view takes its status from here.
 */
export interface AdmissionCoupon {
  couponId: string;
  status: 'ACTIVE' | 'CLOSED';
  totalQuantity: number;
  issued: number;
  usedCount: number;
  issueStartAt: number;
  issueEndAt: number;
  validFrom: number;
  validUntil: number;
  /** userId → sequence of the coupon issued to them */
  holders: Map<string, number>;
  /** sequence → when it was used */
  used: Map<number, number>;
}

export type IssueDecision =
  | { outcome: 'ISSUED'; sequence: number }
  | { outcome: 'ALREADY_ISSUED'; sequence: number }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_NOT_STARTED' | 'ISSUE_ENDED' | 'SOLD_OUT' };

export type UseDecision =
  | { outcome: 'USED' }
  | { outcome: 'ALREADY_USED'; usedAt: number }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED' };

export type CloseDecision = { outcome: 'CLOSED' } | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' };

export type ChangeWindowDecision =
  | { outcome: 'WINDOW_CHANGED'; issueStartAt: number; issueEndAt: number }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_STARTED' | 'WINDOW_INVALID' };

export type AddStockDecision = { outcome: 'STOCK_ADDED'; totalQuantity: number } | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'STOCK_LIMIT' };

/** The largest total a coupon may have, as at create. */
export const MAX_TOTAL_QUANTITY = 10_000_000;

/**
 * Before any rule but a replay, the scripts count the user's attempts at this decision on this coupon in
 * the current window (`attempts` includes this one); past the limit nothing is decided.
 */
export const overUserLimit = (attempts: number, limit: number): boolean => attempts > limit;

export type CouponCommand =
  | { type: 'IssueCoupon'; userId: string }
  | { type: 'UseCoupon'; sequence: number; userId: string }
  | { type: 'CloseIssuance' }
  | { type: 'AddStock'; add: number }
  | { type: 'ChangeIssueWindow'; issueStartAt?: number; issueEndAt?: number };

export type Decision<C extends CouponCommand> = C extends { type: 'IssueCoupon' } ? IssueDecision : C extends { type: 'UseCoupon' } ? UseDecision : C extends { type: 'AddStock' } ? AddStockDecision : C extends { type: 'ChangeIssueWindow' } ? ChangeWindowDecision : CloseDecision;

export function decide<C extends CouponCommand>(command: C, coupon: AdmissionCoupon | undefined, now: number): Decision<C> {
  switch (command.type) {
    case 'IssueCoupon':
      return decideIssue(coupon, command.userId, now) as Decision<C>;
    case 'UseCoupon':
      return decideUse(coupon, command.sequence, command.userId, now) as Decision<C>;
    case 'CloseIssuance':
      return decideClose(coupon) as Decision<C>;
    case 'AddStock':
      return decideAddStock(coupon, command.add) as Decision<C>;
    case 'ChangeIssueWindow':
      return decideChangeWindow(coupon, command, now) as Decision<C>;
  }
  throw new Error(`no rule for ${(command as { type: string }).type}`);
}

/** A holder retrying learns their coupon whatever else changed since; then closed, window, stock, in that order. */
export function decideIssue(coupon: AdmissionCoupon | undefined, userId: string, now: number): IssueDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  const held = coupon.holders.get(userId);
  if (held !== undefined) return { outcome: 'ALREADY_ISSUED', sequence: held };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  if (now < coupon.issueStartAt) return { outcome: 'ISSUE_NOT_STARTED' };
  if (now >= coupon.issueEndAt) return { outcome: 'ISSUE_ENDED' };
  if (coupon.issued >= coupon.totalQuantity) return { outcome: 'SOLD_OUT' };
  return { outcome: 'ISSUED', sequence: coupon.issued + 1 };
}

/** Someone else's coupon is indistinguishable from a missing one, so ids cannot be probed. */
export function decideUse(coupon: AdmissionCoupon | undefined, sequence: number, userId: string, now: number): UseDecision {
  if (!coupon || coupon.holders.get(userId) !== sequence) return { outcome: 'ISSUED_COUPON_NOT_FOUND' };
  const usedAt = coupon.used.get(sequence);
  if (usedAt !== undefined) return { outcome: 'ALREADY_USED', usedAt };
  if (now < coupon.validFrom) return { outcome: 'COUPON_NOT_YET_VALID' };
  if (now >= coupon.validUntil) return { outcome: 'COUPON_EXPIRED' };
  return { outcome: 'USED' };
}

export function decideClose(coupon: AdmissionCoupon | undefined): CloseDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  return { outcome: 'CLOSED' };
}

/**
 * Stock only grows, and a closed coupon never admits again, so adding to it means nothing. A sold-out coupon
 * given stock admits again.
 */
export function decideAddStock(coupon: AdmissionCoupon | undefined, add: number): AddStockDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  if (coupon.totalQuantity + add > MAX_TOTAL_QUANTITY) return { outcome: 'STOCK_LIMIT' };
  return { outcome: 'STOCK_ADDED', totalQuantity: coupon.totalQuantity + add };
}

/**
 * The end may move either way, to any future instant within validity; the start only while issuing has not
 * begun (a window that opened stays opened). A closed coupon has no window to move.
 */
export function decideChangeWindow(coupon: AdmissionCoupon | undefined, change: { issueStartAt?: number; issueEndAt?: number }, now: number): ChangeWindowDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  const issueStartAt = change.issueStartAt ?? coupon.issueStartAt;
  const issueEndAt = change.issueEndAt ?? coupon.issueEndAt;
  if (issueStartAt !== coupon.issueStartAt && now >= coupon.issueStartAt) return { outcome: 'ISSUE_STARTED' };
  if (issueStartAt >= issueEndAt || issueEndAt > coupon.validUntil || issueEndAt <= now) return { outcome: 'WINDOW_INVALID' };
  return { outcome: 'WINDOW_CHANGED', issueStartAt, issueEndAt };
}

export function evolve(coupon: AdmissionCoupon | undefined, event: CouponEvent): AdmissionCoupon | undefined {
  switch (event.type) {
    case 'CouponCreated':
      return coupon ?? {
        couponId: event.couponId,
        status: 'ACTIVE',
        totalQuantity: event.data.totalQuantity,
        issued: 0,
        usedCount: 0,
        issueStartAt: Date.parse(event.data.issueStartAt),
        issueEndAt: Date.parse(event.data.issueEndAt),
        validFrom: Date.parse(event.data.validFrom),
        validUntil: Date.parse(event.data.validUntil),
        holders: new Map(),
        used: new Map(),
      };
    case 'CouponIssued': {
      const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
      if (!coupon || sequence === undefined || coupon.holders.has(event.data.userId)) return coupon;
      coupon.holders.set(event.data.userId, sequence);
      coupon.issued = Math.max(coupon.issued, sequence);
      return coupon;
    }
    case 'CouponUsed': {
      const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
      if (coupon && sequence !== undefined && !coupon.used.has(sequence)) {
        coupon.used.set(sequence, Date.parse(event.occurredAt));
        coupon.usedCount = Math.max(coupon.usedCount, event.data.useSequence);
      }
      return coupon;
    }
    case 'CouponIssuanceClosed':
      if (coupon) coupon.status = 'CLOSED';
      return coupon;
    case 'CouponIssueWindowChanged':
      if (coupon) {
        coupon.issueStartAt = Date.parse(event.data.issueStartAt);
        coupon.issueEndAt = Date.parse(event.data.issueEndAt);
      }
      return coupon;
    case 'CouponStockAdded':
      // The total after the addition, not the addition: a copy of the event changes nothing.
      if (coupon) coupon.totalQuantity = Math.max(coupon.totalQuantity, event.data.totalQuantity);
      return coupon;
  }
}

export const COUPON_STATUSES = ['SCHEDULED', 'OPEN', 'SOLD_OUT', 'ENDED', 'CLOSED'] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

/** Where a coupon stands for someone who wants one at `now`: the issue rules' refusals, in their order. */
export function couponStatus(c: { closed: boolean; issuedCount: number; definition: { totalQuantity: number; issueStartAt: string; issueEndAt: string } }, now: number): CouponStatus {
  if (c.closed) return 'CLOSED';
  if (now < Date.parse(c.definition.issueStartAt)) return 'SCHEDULED';
  if (now >= Date.parse(c.definition.issueEndAt)) return 'ENDED';
  if (c.issuedCount >= c.definition.totalQuantity) return 'SOLD_OUT';
  return 'OPEN';
}

/** What a holder's coupon is at `now`: USED once used; an unused one is EXPIRED from the end of its validity on, as decideUse refuses it. */
export function issuedCouponStatus(row: { status: string; validUntil: Date }, now: Date): 'ISSUED' | 'USED' | 'EXPIRED' {
  if (row.status === 'USED') return 'USED';
  return row.validUntil <= now ? 'EXPIRED' : 'ISSUED';
}
