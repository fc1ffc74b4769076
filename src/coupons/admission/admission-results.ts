import type { z } from 'zod';
import type { couponCreatedData, RequiredClaims } from '../../events/coupon-events.ts';
import type {
  AfterRelease, ExpireHoldDecision, HoldDecision, ReleaseDecision,
  AddStockDecision, AfterCancel, CancelUseDecision, ChangeWindowDecision, CloseDecision, CreateDecision, EligibilityDecision, IssueDecision, UseDecision,
} from '../rules/coupon-rules.ts';

/**
 * What the admission scripts answer, as the API receives them: the rules' outcomes (from their decision types),
 * with what the executor adds (times, ids, whether a retry replayed the first answer) and the answers only an
 * executor can give (the Idempotency-Key reused, the caller over the attempt limit).
 */
export interface EventMeta {
  requestId?: string;
  actor?: string;
}

export type CouponDefinition = z.infer<typeof couponCreatedData>;

/** Every decision may also answer that the client reused its Idempotency-Key for another request. */
export type KeyReused = { outcome: 'IDEMPOTENCY_KEY_REUSED' };
/** The user's attempts on this coupon are over the limit for the window; nothing was decided. */
export type RateLimited = { outcome: 'RATE_LIMITED'; retryAfterMs: number };
/** A dry run's answer where the real call would succeed: what it would do, with nothing done. */
export type WouldIssue = { outcome: 'WOULD_ISSUE' };
/** A coupon split into stock buckets issues in several steps across Redis slots: no one script can answer a dry run. */
export type DryRunNotOffered = { outcome: 'DRY_RUN_NOT_OFFERED' };

/** `replayed`: the decision was made by an earlier call with the same request id and is repeated here. */
export type Replayable = { replayed: boolean };
/** A decision's other outcomes, which carry nothing but themselves. */
type Others<D extends { outcome: string }, Told extends D['outcome']> = { outcome: Exclude<D['outcome'], Told> };

export type CreateResult = ({ outcome: 'CREATED'; createdAt: Date } & Replayable) | Others<CreateDecision, 'CREATED'> | KeyReused;

export type IssueResult =
  | ({ outcome: 'ISSUED'; issuedCouponId: string; issuedAt: Date; validFrom: string; validUntil: string } & Replayable)
  | { outcome: 'ALREADY_ISSUED'; issuedCouponId: string }
  | WouldIssue
  | DryRunNotOffered
  | Others<IssueDecision, 'ISSUED' | 'ALREADY_ISSUED'>
  | RateLimited
  | KeyReused;

/** An order's total in minor units of its currency: what a coupon with a currency computes its discount from. */
export type OrderTotal = { totalMinor: number; currency: string };

export type UseResult =
  | ({ outcome: 'USED'; usedAt: Date; discountMinor?: number } & Replayable)
  | { outcome: 'WOULD_USE'; discountMinor?: number }
  | { outcome: 'ALREADY_USED'; usedAt: Date }
  | Others<UseDecision, 'USED' | 'ALREADY_USED'>
  | RateLimited
  | KeyReused;

/** Holds are kept in the coupon's own keys: a coupon split into stock buckets offers none (yet). */
export type NotSplit = { outcome: 'HOLDS_NOT_OFFERED' };

export type HoldResult =
  | ({ outcome: 'HELD'; heldUntil: Date; holdSequence: number } & Replayable)
  | { outcome: 'ALREADY_HELD'; heldUntil: Date; holdSequence: number }
  | { outcome: 'WOULD_HOLD'; heldUntil: Date }
  | { outcome: 'ALREADY_USED'; usedAt: Date }
  | Others<HoldDecision, 'HELD' | 'ALREADY_HELD' | 'ALREADY_USED'>
  | NotSplit
  | RateLimited
  | KeyReused;

export type ReleaseResult =
  | ({ outcome: 'RELEASED'; status: AfterRelease } & Replayable)
  | { outcome: 'ALREADY_RELEASED'; status: AfterRelease }
  | { outcome: 'ALREADY_USED'; usedAt: Date }
  | Others<ReleaseDecision, 'RELEASED' | 'ALREADY_RELEASED' | 'ALREADY_USED'>
  | NotSplit
  | KeyReused;

export type ExpireHoldResult = { outcome: ExpireHoldDecision['outcome'] } | NotSplit;

export type CancelUseResult =
  | ({ outcome: 'USE_CANCELLED'; status: AfterCancel } & Replayable)
  | { outcome: 'ALREADY_CANCELLED'; status: AfterCancel }
  | Others<CancelUseDecision, 'USE_CANCELLED' | 'ALREADY_CANCELLED'>
  | KeyReused;

export type RevokeChunkResult = { outcome: 'REVOKED'; revoked: number; revokedCount: number } | { outcome: 'COUPON_NOT_FOUND' };
export type RevokeUnusedResult = { outcome: 'REVOKED'; revokedCount: number } | { outcome: 'COUPON_NOT_FOUND' } | KeyReused;

export type AddStockResult = ({ outcome: 'STOCK_ADDED'; totalQuantity: number } & Replayable) | Others<AddStockDecision, 'STOCK_ADDED'> | KeyReused;

export type ChangeWindowResult =
  | ({ outcome: 'WINDOW_CHANGED'; issueStartAt: string; issueEndAt: string } & Replayable)
  | Others<ChangeWindowDecision, 'WINDOW_CHANGED'>
  | KeyReused;

/** A second close answers when the first closed it. */
export type CloseResult =
  | ({ outcome: 'CLOSED'; closedAt: Date } & Replayable)
  | { outcome: 'COUPON_CLOSED'; closedAt: Date }
  | Others<CloseDecision, 'CLOSED' | 'COUPON_CLOSED'>
  | KeyReused;

export type EligibilityResult = { outcome: EligibilityDecision['outcome'] } | KeyReused;

/** An upload is the executor's: a later upload supersedes one still running. */
export type AllowListResult = { outcome: 'REPLACED'; version: number; size: number } | { outcome: 'COUPON_NOT_FOUND' | 'UPLOAD_SUPERSEDED' };

/** Who may be issued a coupon, as the views show it. */
export interface EligibilityView {
  requiredClaims: RequiredClaims | null;
  allowList: { version: number; size: number } | null;
}
