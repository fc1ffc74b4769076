import type { couponCreatedData, RequiredClaims } from '../../events/coupon-events.ts';
import type { z } from 'zod';
import { MAX_TOTAL_QUANTITY, settingRevision, type AdmissionCoupon } from './coupon-state.ts';
import { refused, type EventDraft } from './event-draft.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export type CreateDecision = { outcome: 'CREATED'; events: EventDraft[] } | { outcome: 'COUPON_EXISTS'; events: [] };
export type CloseDecision = { outcome: 'CLOSED'; events: EventDraft[] } | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED'; events: [] };
export type AddStockDecision = { outcome: 'STOCK_ADDED'; totalQuantity: number; events: EventDraft[] } | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'STOCK_LIMIT'; events: [] };
export type ChangeWindowDecision =
  | { outcome: 'WINDOW_CHANGED'; issueStartAt: number; issueEndAt: number; events: EventDraft[] }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_STARTED' | 'WINDOW_INVALID'; events: [] };
export type EligibilityDecision = { outcome: 'ELIGIBILITY_CHANGED'; events: EventDraft[] } | { outcome: 'COUPON_NOT_FOUND'; events: [] };
export type AllowListDecision =
  | { outcome: 'CHUNK_ADDED' | 'REMOVED'; events: EventDraft[] }
  | { outcome: 'REPLACED'; size: number; events: EventDraft[] }
  | { outcome: 'COUPON_NOT_FOUND'; events: [] };

/** A coupon is created once; its id names it for good. */
export function decideCreate(coupon: AdmissionCoupon | undefined, definition: z.infer<typeof couponCreatedData>): CreateDecision {
  if (coupon) return refused('COUPON_EXISTS');
  return { outcome: 'CREATED', events: [{ type: 'CouponCreated', data: definition }] };
}

export function decideClose(coupon: AdmissionCoupon | undefined): CloseDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  if (coupon.status === 'CLOSED') return refused('COUPON_CLOSED');
  return { outcome: 'CLOSED', events: [{ type: 'CouponIssuanceClosed', data: {} }] };
}

/**
 * Stock only grows, and a closed coupon never admits again, so adding to it means nothing. A sold-out coupon
 * given stock admits again.
 */
export function decideAddStock(coupon: AdmissionCoupon | undefined, add: number): AddStockDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  if (coupon.status === 'CLOSED') return refused('COUPON_CLOSED');
  const totalQuantity = coupon.totalQuantity + add;
  if (totalQuantity > MAX_TOTAL_QUANTITY) return refused('STOCK_LIMIT');
  return { outcome: 'STOCK_ADDED', totalQuantity, events: [{ type: 'CouponStockAdded', data: { add, totalQuantity } }] };
}

/**
 * The end may move either way, to any future instant within validity; the start only while issuing has not
 * begun (a window that opened stays opened). A closed coupon has no window to move.
 */
export function decideChangeWindow(coupon: AdmissionCoupon | undefined, change: { issueStartAt?: number; issueEndAt?: number }, now: number): ChangeWindowDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  if (coupon.status === 'CLOSED') return refused('COUPON_CLOSED');
  const issueStartAt = change.issueStartAt ?? coupon.issueStartAt;
  const issueEndAt = change.issueEndAt ?? coupon.issueEndAt;
  if (issueStartAt !== coupon.issueStartAt && now >= coupon.issueStartAt) return refused('ISSUE_STARTED');
  if (issueStartAt >= issueEndAt || issueEndAt > coupon.validUntil || issueEndAt <= now) return refused('WINDOW_INVALID');
  // A waiting room's start stays at or after its pre-queue's opening: before it, nobody could join and be shuffled.
  if (issueStartAt < (coupon.queue?.preQueueFrom ?? 0)) return refused('WINDOW_INVALID');
  const data = { issueStartAt: iso(issueStartAt), issueEndAt: iso(issueEndAt), revision: settingRevision(coupon) + 1 };
  return { outcome: 'WINDOW_CHANGED', issueStartAt, issueEndAt, events: [{ type: 'CouponIssueWindowChanged', data }] };
}

/** The claims required of callers from now on (null: none). */
export function decideEligibility(coupon: AdmissionCoupon | undefined, requiredClaims: RequiredClaims | null): EligibilityDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  return { outcome: 'ELIGIBILITY_CHANGED', events: [{ type: 'CouponEligibilityChanged', data: { requiredClaims, revision: settingRevision(coupon) + 1 } }] };
}

/**
 * An allow-list comes in whole: ids are added to the upload `version` a chunk at a time (not in force), then put
 * in force at once (its size is what its chunks added); removed, anyone may be issued the coupon. Which upload
 * a chunk belongs to, and that a later one supersedes it, is the executor's bookkeeping, not a rule.
 */
export function decideAllowList(
  coupon: AdmissionCoupon | undefined,
  change: { step: 'add'; version: number; userIds: string[] } | { step: 'commit'; version: number } | { step: 'remove' },
): AllowListDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  const revision = settingRevision(coupon) + 1;
  if (change.step === 'add') return { outcome: 'CHUNK_ADDED', events: [{ type: 'CouponAllowListChunkAdded', data: { version: change.version, userIds: change.userIds } }] };
  if (change.step === 'remove') return { outcome: 'REMOVED', events: [{ type: 'CouponAllowListReplaced', data: { version: null, size: 0, revision } }] };
  const size = coupon.staged?.version === change.version ? coupon.staged.members.size : 0;
  return { outcome: 'REPLACED', size, events: [{ type: 'CouponAllowListReplaced', data: { version: change.version, size, revision } }] };
}
