import type { RequiredClaims } from '../../events/coupon-events.ts';
import type { Money } from './money.ts';

/**
 * A coupon as its rules see it: what `decide` reads and `evolve` folds the log into. Every count, status and
 * sum a view shows of a coupon comes from the functions below, so they are said once.
 */
export interface AdmissionCoupon {
  couponId: string;
  status: 'ACTIVE' | 'CLOSED';
  totalQuantity: number;
  issued: number;
  /** Uses ever made (the nth use is CouponUsed's useSequence); cancellations and revocations counted apart. */
  usedCount: number;
  cancelledCount: number;
  revokedCount: number;
  issueStartAt: number;
  issueEndAt: number;
  validFrom: number;
  validUntil: number;
  /** userId → sequence of the coupon issued to them */
  holders: Map<string, number>;
  /** Behind the bot gate: an issue needs a passed human check. */
  humanCheck?: true;
  /** Opens through a waiting room: an issue needs a pass granted in turn. */
  queue?: QueueState;
  /** One per person: the verified token claim naming the person; absent, one per account. */
  onePer?: string;
  /** On a coupon limited one per person: person (the claim's value) → sequence issued to them. */
  persons?: Map<string, number>;
  /** sequence → what became of that issued coupon; absent while it was never used nor revoked */
  redemptions: Map<number, Redemption>;
  /** sequence → its latest hold at checkout (live, lapsed, or how it ended); absent while never held. */
  holds?: Map<number, Hold>;
  /** Holds ever placed on this coupon: the nth is CouponHeld's holdSequence. */
  heldCount?: number;
  /** A coupon with a currency: its discount, cap per order and budget in minor units (money.ts). */
  money?: Money;
  /** A coupon with a budget: what the uses in force were granted, and the nth change of it. */
  budget?: { spentMinor: number; revision: number };
  /** Claims a caller must carry to be issued it; none when absent. */
  requiredClaims?: RequiredClaims;
  /** The allow-list in force; anyone when absent. */
  allowList?: AllowList;
  /** The allow-list being uploaded, not yet in force. */
  staged?: AllowList;
  /**
   * A coupon split into stock buckets: each list bucket 0 put in force (or a bucket announced first), by version,
   * with the revision of its change, for the buckets that take it later; one no bucket can still take is dropped.
   */
  lists?: Map<number, { list: AllowList; revision: number }>;
  /** A coupon split into stock buckets: how many. */
  bucketCount?: number;
  /** The highest allow-list version any event named: the next upload is numbered after it. */
  allowListVersion: number;
  /** Revoke-unused has run: a use cancelled from now on leaves its coupon REVOKED, not usable again. */
  unusedRevoked?: true;
  /**
   * A coupon split into stock buckets: each bucket's own cancellation and revocation counts (its events number
   * within it), whether revoke-unused has reached it yet (a run reaches the buckets one after another), and the
   * window and claims it decides by (a change reaches bucket 0 first, then each other bucket).
   */
  buckets?: Map<number, BucketState>;
  /** A coupon split into stock buckets: the window and claims it was created with, which a bucket holds until a change reaches it. */
  created?: BucketSettings;
  /** The revision of the last change applied to each setting (see evolve's `takesEffect`); none applied yet when absent. */
  revisions?: SettingRevisions;
}

/**
 * An issued coupon's redemption, with its holder: in use, its last use cancelled (usable again), or revoked.
 * `generation` is the nth use of this issued coupon, so a copy of an older use or cancellation is told from a new
 * one; a revoked coupon that had a use (generation above 0) keeps the order of that cancelled use.
 */
export type Redemption =
  | { state: 'USED'; at: number; generation: number; orderId: string | null; userId: string; discountMinor?: number }
  | { state: 'CANCELLED'; generation: number; orderId: string | null; userId: string }
  | { state: 'REVOKED'; at: number; generation: number; orderId: string | null; userId: string };

/**
 * An issued coupon's latest hold for an order at checkout: in force until `until` (epoch ms) unless `ended`
 * (released, lapsed and ended by whoever saw it first, confirmed by its order's use, or its coupon revoked). Past `until` and not
 * ended, it holds nothing: the next decision on the coupon ends it.
 */
export interface Hold {
  orderId: string;
  userId: string;
  until: number;
  holdSequence: number;
  ended?: 'RELEASED' | 'EXPIRED' | 'USED' | 'REVOKED';
}

/**
 * A coupon that opens through a waiting room (../queue), as the log tells it: who holds which ticket, the seed the
 * pre-queue was shuffled with, how many places have been handed passes, and the passes not yet used nor lapsed.
 */
export interface QueueState {
  admitPerSecond: number;
  passTtlMs: number;
  preQueueFrom?: number;
  /** person → their ticket (the nth join) and whether they joined before the start (`pre`, shuffled) or after (`line`). */
  tickets: Map<string, { ticket: number; phase: 'pre' | 'line' }>;
  /** Persons in the order they joined (ticket order). */
  joined: string[];
  seed?: string;
  /** Places (0-based, in line order) handed a pass so far. */
  head: number;
  /** person → when their pass lapses (epoch ms): granted, neither used nor lapsed yet. */
  passes: Map<string, number>;
  /** The grants of the last second before the latest (when, how many): what the meter counts. */
  recent: { at: number; count: number }[];
}

export interface AllowList {
  version: number;
  members: Set<string>;
}

export interface BucketSettings {
  issueStartAt: number;
  issueEndAt: number;
  requiredClaims?: RequiredClaims;
  /** The empty list, version 0, of a coupon created with an allow-list. */
  allowList?: AllowList;
}

export interface BucketState {
  cancelledCount: number;
  revokedCount: number;
  unusedRevoked?: true;
  /** The window, and the claims (none: undefined), a change brought to this bucket, with that change's revision. */
  window?: { issueStartAt: number; issueEndAt: number; revision: number };
  claims?: { requiredClaims: RequiredClaims | undefined; revision: number };
  /** The allow-list (none: undefined) whose share this bucket announced it took, with that change's revision. */
  allowList?: { list: AllowList | undefined; revision: number };
}

/** Bucket `bucket`'s state, made empty on first sight. */
export function bucketState(coupon: AdmissionCoupon, bucket: number): BucketState {
  coupon.buckets ??= new Map();
  let counts = coupon.buckets.get(bucket);
  if (!counts) coupon.buckets.set(bucket, (counts = { cancelledCount: 0, revokedCount: 0 }));
  return counts;
}

/**
 * The coupon as bucket `bucket` decides issues of it: bucket 0 (and a coupon not split) by the coupon's own window,
 * claims and allow-list, every other bucket by those a change brought to it, or those the coupon was created with.
 */
export function asBucketSees(coupon: AdmissionCoupon, bucket: number | undefined): AdmissionCoupon {
  if (!bucket || !coupon.created) return coupon;
  const state = coupon.buckets?.get(bucket);
  const window = state?.window ?? coupon.created;
  const requiredClaims = state?.claims ? state.claims.requiredClaims : coupon.created.requiredClaims;
  const allowList = state?.allowList ? state.allowList.list : coupon.created.allowList;
  const seen: AdmissionCoupon = { ...coupon, issueStartAt: window.issueStartAt, issueEndAt: window.issueEndAt };
  if (requiredClaims) seen.requiredClaims = requiredClaims;
  else delete seen.requiredClaims;
  if (allowList) seen.allowList = allowList;
  else delete seen.allowList;
  return seen;
}

export type Setting = 'window' | 'claims' | 'allowList';
export type SettingRevisions = Record<Setting, number>;

/** The coupon's setting revision: the highest any setting reached, where the next change continues. */
export const settingRevision = (c: Pick<AdmissionCoupon, 'revisions'>): number => Math.max(0, ...Object.values(c.revisions ?? {}));

/** The largest total a coupon may have, as at create. */
export const MAX_TOTAL_QUANTITY = 10_000_000;

/** Coupons in use now: uses made less uses cancelled. */
export const inUse = (c: { usedCount: number; cancelledCount: number }): number => c.usedCount - c.cancelledCount;

/** Coupons left to issue. */
export const remaining = (c: { totalQuantity: number; issued: number }): number => Math.max(0, c.totalQuantity - c.issued);

export const COUPON_STATUSES = ['SCHEDULED', 'OPEN', 'SOLD_OUT', 'ENDED', 'CLOSED'] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

/**
 * What the issue rules answer anyone who holds none, before eligibility: closed, the window, the stock, in that
 * order; undefined while a caller could be issued one. The sold-out memory answers with it too.
 */
export function settledAnswer(coupon: Pick<AdmissionCoupon, 'status' | 'issueStartAt' | 'issueEndAt' | 'totalQuantity' | 'issued'>, now: number): 'COUPON_CLOSED' | 'ISSUE_NOT_STARTED' | 'ISSUE_ENDED' | 'SOLD_OUT' | undefined {
  if (coupon.status === 'CLOSED') return 'COUPON_CLOSED';
  if (now < coupon.issueStartAt) return 'ISSUE_NOT_STARTED';
  if (now >= coupon.issueEndAt) return 'ISSUE_ENDED';
  if (coupon.issued >= coupon.totalQuantity) return 'SOLD_OUT';
  return undefined;
}

const STATUS_OF = { COUPON_CLOSED: 'CLOSED', ISSUE_NOT_STARTED: 'SCHEDULED', ISSUE_ENDED: 'ENDED', SOLD_OUT: 'SOLD_OUT' } as const;

/** Where a coupon stands for someone who wants one at `now`: the issue rules' refusals (`settledAnswer`), in their order. */
export function couponStatus(c: { closed: boolean; issuedCount: number; definition: { totalQuantity: number; issueStartAt: string; issueEndAt: string } }, now: number): CouponStatus {
  const settled = settledAnswer({
    status: c.closed ? 'CLOSED' : 'ACTIVE', issueStartAt: Date.parse(c.definition.issueStartAt), issueEndAt: Date.parse(c.definition.issueEndAt),
    totalQuantity: c.definition.totalQuantity, issued: c.issuedCount,
  }, now);
  return settled ? STATUS_OF[settled] : 'OPEN';
}

export const ISSUED_COUPON_STATUSES = ['ISSUED', 'HELD', 'USED', 'EXPIRED', 'REVOKED'] as const;
export type IssuedCouponStatus = (typeof ISSUED_COUPON_STATUSES)[number];

/**
 * What a holder's coupon is at `now`: USED while in use, REVOKED once revoked, HELD while a hold for an order is in
 * force (`holdUntil` ahead); an unused one is EXPIRED from the end of its validity on, as decideUse refuses it.
 */
export function issuedCouponStatus(row: { status: string; validUntil: Date; holdUntil?: Date | null }, now: Date): IssuedCouponStatus {
  if (row.status === 'USED' || row.status === 'REVOKED') return row.status;
  if (row.validUntil <= now) return 'EXPIRED';
  return row.status === 'HELD' && row.holdUntil && row.holdUntil > now ? 'HELD' : 'ISSUED';
}
