import type { Context } from 'koa';
import { problemOf, type ProblemCode, type Refusal, type Refusals } from '../http/problem.ts';
import type {
  AddStockResult, AllowListResult, CancelUseResult, ChangeWindowResult, CloseResult, HoldResult, IssueResult, RateLimited, ReleaseResult, RevokeUnusedResult,
  UseResult,
} from './admission/admission-store.ts';
import type { JoinResult } from './admission/queue-scripts.ts';
import { isCouponId } from '../ids/ids.ts';
import { MAX_TOTAL_QUANTITY } from './rules/coupon-rules.ts';

/**
 * Every refusal a coupon decision answers, and how it is answered: the one place an outcome of the admission
 * scripts becomes a problem (its code, so status and title, and its detail). The routes answer through these
 * tables and the OpenAPI document lists each route's problems from them.
 */
type Refused<R extends { outcome: string }, Done extends string> = Exclude<R, { outcome: Done }>;

export const NO_COUPON = { code: 'COUPON_NOT_FOUND', detail: 'No coupon has this id' } as const satisfies Refusal;
export const NOT_IN_READ_MODEL = { code: 'COUPON_NOT_FOUND', detail: 'No coupon has this id in the read model' } as const satisfies Refusal;
const KEY_REUSED = { code: 'IDEMPOTENCY_KEY_REUSED', detail: 'This Idempotency-Key was used with a different request' } as const satisfies Refusal;
const seconds = ({ retryAfterMs }: RateLimited) => String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
const RATE_LIMITED: Refusal<RateLimited> = {
  code: 'RATE_LIMITED', detail: (r) => `Too many attempts on this coupon; retry in ${seconds(r)} s`, headers: (r) => ({ 'Retry-After': seconds(r) }),
};

/** What every admission route may answer when Redis or the event log did not: see error-handler.ts. */
export const UNANSWERED: readonly ProblemCode[] = ['OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'];

export const CREATE_REFUSALS: Refusals<{ outcome: 'IDEMPOTENCY_KEY_REUSED' }> = { IDEMPOTENCY_KEY_REUSED: KEY_REUSED };

export const ISSUE_REFUSALS: Refusals<Refused<IssueResult, 'ISSUED' | 'WOULD_ISSUE'>> = {
  COUPON_NOT_FOUND: NO_COUPON,
  ALREADY_ISSUED: { code: 'ALREADY_ISSUED', detail: 'You already hold this coupon', extensions: (r) => ({ issuedCouponId: r.issuedCouponId }) },
  SOLD_OUT: { code: 'SOLD_OUT', detail: 'Every coupon has been issued' },
  ISSUE_NOT_STARTED: { code: 'ISSUE_NOT_STARTED', detail: 'The issue window has not opened yet' },
  ISSUE_ENDED: { code: 'ISSUE_ENDED', detail: 'The issue window has ended' },
  COUPON_CLOSED: { code: 'COUPON_CLOSED', detail: 'Issuing of this coupon was closed' },
  NOT_ELIGIBLE: { code: 'NOT_ELIGIBLE', detail: 'This coupon is for other users: your account does not meet its conditions' },
  HUMAN_CHECK_FAILED: { code: 'HUMAN_CHECK_FAILED', detail: 'Send a passed human check in the Human-Check header: this coupon asks for one; nothing was changed' },
  IDENTITY_REQUIRED: { code: 'IDENTITY_REQUIRED', detail: 'This coupon is one per person: sign in with an account whose token names you (its person claim)' },
  PERSON_ALREADY_ISSUED: { code: 'PERSON_ALREADY_ISSUED', detail: 'You already hold this coupon under another account: it is one per person' },
  PASS_REQUIRED: { code: 'PASS_REQUIRED', detail: 'This coupon opens through a waiting room: join it (POST /coupons/{couponId}/queue) and claim with your pass in the Queue-Pass header' },
  PASS_EXPIRED: { code: 'PASS_EXPIRED', detail: 'Your waiting-room pass lapsed or was already used; nothing was changed' },
  DRY_RUN_NOT_OFFERED: {
    code: 'VALIDATION_FAILED', detail: 'A dry run of an issue is not offered on a coupon split into stock buckets',
    extensions: () => ({ errors: [{ path: 'query.dryRun', message: 'not offered on this coupon' }] }),
  },
  RATE_LIMITED,
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

const NOT_HOLDING = { code: 'ISSUED_COUPON_NOT_FOUND', detail: 'You hold no coupon with this id' } as const satisfies Refusal;
const USED = { code: 'ALREADY_USED', detail: 'This coupon was already used', extensions: (r: { usedAt: Date }) => ({ usedAt: r.usedAt.toISOString() }) } as const;
const REVOKED = { code: 'COUPON_REVOKED', detail: 'This coupon was revoked and can no longer be used' } as const satisfies Refusal;
const HELD_ELSEWHERE = { code: 'HELD', detail: 'Another order holds this coupon at checkout; it is free again when that hold is released or lapses' } as const satisfies Refusal;
const NO_HOLDS = { code: 'HOLD_NOT_OFFERED', detail: 'This coupon is split into stock buckets, which offer no holds yet: use it directly' } as const satisfies Refusal;

export const USE_REFUSALS: Refusals<Refused<UseResult, 'USED' | 'WOULD_USE'>> = {
  ISSUED_COUPON_NOT_FOUND: NOT_HOLDING,
  ALREADY_USED: USED,
  COUPON_REVOKED: REVOKED,
  COUPON_NOT_YET_VALID: { code: 'COUPON_NOT_YET_VALID', detail: 'This coupon cannot be used before its validity starts' },
  COUPON_EXPIRED: { code: 'COUPON_EXPIRED', detail: 'This coupon expired unused' },
  HELD_ELSEWHERE,
  ORDER_TOTAL_REQUIRED: {
    code: 'VALIDATION_FAILED', detail: 'This coupon grants money: the order system names the order\'s total and currency',
    extensions: () => ({ errors: [{ path: 'orderTotal', message: 'required with currency for a coupon with a currency' }] }),
  },
  CURRENCY_MISMATCH: { code: 'CURRENCY_MISMATCH', detail: 'The order\'s currency is not the coupon\'s; nothing was changed' },
  BUDGET_EXHAUSTED: { code: 'BUDGET_EXHAUSTED', detail: 'The campaign\'s budget has less left than this discount; nothing was changed' },
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
  RATE_LIMITED,
};

export const HOLD_REFUSALS: Refusals<Refused<HoldResult, 'HELD' | 'ALREADY_HELD' | 'WOULD_HOLD'>> = {
  ...USE_REFUSALS,
  COUPON_NOT_YET_VALID: { code: 'COUPON_NOT_YET_VALID', detail: 'This coupon cannot be held before its validity starts' },
  HOLDS_NOT_OFFERED: NO_HOLDS,
};

export const RELEASE_REFUSALS: Refusals<Refused<ReleaseResult, 'RELEASED' | 'ALREADY_RELEASED'>> = {
  ISSUED_COUPON_NOT_FOUND: { code: 'ISSUED_COUPON_NOT_FOUND', detail: 'No issued coupon has this id' },
  ALREADY_USED: { ...USED, detail: 'The hold became a use: cancel the use (POST …/cancel-use) to give the coupon back' },
  COUPON_REVOKED: REVOKED,
  NOT_HELD: { code: 'NOT_HELD', detail: 'This order holds no hold on this coupon' },
  ORDER_MISMATCH: { code: 'ORDER_MISMATCH', detail: 'Another order holds this coupon' },
  HOLDS_NOT_OFFERED: NO_HOLDS,
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

export const CANCEL_USE_REFUSALS: Refusals<Refused<CancelUseResult, 'USE_CANCELLED' | 'ALREADY_CANCELLED'>> = {
  ISSUED_COUPON_NOT_FOUND: { code: 'ISSUED_COUPON_NOT_FOUND', detail: 'No issued coupon has this id' },
  NOT_USED: { code: 'NOT_USED', detail: 'This coupon is not in use, so there is no use to cancel' },
  ORDER_MISMATCH: { code: 'ORDER_MISMATCH', detail: 'The coupon was used for another order' },
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

export const CLOSE_REFUSALS: Refusals<Refused<CloseResult, 'CLOSED'>> = {
  COUPON_NOT_FOUND: NO_COUPON,
  COUPON_CLOSED: { code: 'COUPON_CLOSED', detail: 'Issuing of this coupon is already closed', extensions: (r) => ({ closedAt: r.closedAt.toISOString() }) },
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

export const ADD_STOCK_REFUSALS: Refusals<Refused<AddStockResult, 'STOCK_ADDED'>> = {
  COUPON_NOT_FOUND: NO_COUPON,
  COUPON_CLOSED: { code: 'COUPON_CLOSED', detail: 'Issuing of this coupon is closed; stock cannot be added' },
  STOCK_LIMIT: {
    code: 'VALIDATION_FAILED', detail: `A coupon's total may not exceed ${MAX_TOTAL_QUANTITY.toLocaleString('en')}`,
    extensions: () => ({ errors: [{ path: 'add', message: 'The total would exceed the limit' }] }),
  },
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

export const CHANGE_WINDOW_REFUSALS: Refusals<Refused<ChangeWindowResult, 'WINDOW_CHANGED'>> = {
  COUPON_NOT_FOUND: NO_COUPON,
  COUPON_CLOSED: { code: 'COUPON_CLOSED', detail: 'Issuing of this coupon is closed; its window cannot move' },
  ISSUE_STARTED: { code: 'ISSUE_STARTED', detail: 'Issuing has started, so issueStartAt can no longer move; issueEndAt still can' },
  WINDOW_INVALID: {
    code: 'VALIDATION_FAILED', detail: 'The window must start before it ends (and, for a waiting room, no earlier than its preQueueFrom), end in the future and end no later than validUntil',
    extensions: () => ({ errors: [{ path: 'issueEndAt', message: 'The window would not be valid' }] }),
  },
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

export const REVOKE_REFUSALS: Refusals<Refused<RevokeUnusedResult, 'REVOKED'>> = { COUPON_NOT_FOUND: NO_COUPON, IDEMPOTENCY_KEY_REUSED: KEY_REUSED };

export const ELIGIBILITY_REFUSALS: Refusals<{ outcome: 'COUPON_NOT_FOUND' | 'IDEMPOTENCY_KEY_REUSED' }> = {
  COUPON_NOT_FOUND: NO_COUPON,
  IDEMPOTENCY_KEY_REUSED: KEY_REUSED,
};

export const ALLOW_LIST_REFUSALS: Refusals<Refused<AllowListResult, 'REPLACED'>> = {
  COUPON_NOT_FOUND: NO_COUPON,
  UPLOAD_SUPERSEDED: { code: 'UPLOAD_SUPERSEDED', detail: 'Another upload for this coupon started after this one and replaced it' },
};

export const JOIN_REFUSALS: Refusals<Exclude<JoinResult, { outcome: 'JOINED' }> | { outcome: 'NOT_IN_QUEUE' }> = {
  COUPON_NOT_FOUND: NO_COUPON,
  NOT_A_QUEUE: { code: 'NOT_A_QUEUE', detail: 'This coupon opens directly: ask for it with POST /coupons/{couponId}/issue' },
  HUMAN_CHECK_FAILED: ISSUE_REFUSALS.HUMAN_CHECK_FAILED,
  IDENTITY_REQUIRED: ISSUE_REFUSALS.IDENTITY_REQUIRED,
  COUPON_CLOSED: ISSUE_REFUSALS.COUPON_CLOSED,
  ISSUE_ENDED: ISSUE_REFUSALS.ISSUE_ENDED,
  SOLD_OUT: ISSUE_REFUSALS.SOLD_OUT,
  NOT_ELIGIBLE: ISSUE_REFUSALS.NOT_ELIGIBLE,
  QUEUE_NOT_OPEN: { code: 'QUEUE_NOT_OPEN', detail: 'The waiting room opens at the coupon\'s opening.preQueueFrom' },
  NOT_IN_QUEUE: { code: 'NOT_IN_QUEUE', detail: 'You have not joined this coupon\'s waiting room: POST /coupons/{couponId}/queue' },
};

export const REMOVE_ALLOW_LIST_REFUSALS: Refusals<{ outcome: 'COUPON_NOT_FOUND' }> = { COUPON_NOT_FOUND: NO_COUPON };

/** The path's coupon id; one that cannot be a coupon id is no coupon, answered without asking Redis. */
export function couponIdIn(ctx: Context): string {
  const { couponId } = (ctx as Context & { params: { couponId: string } }).params;
  if (!isCouponId(couponId)) throw problemOf(NO_COUPON, undefined);
  return couponId;
}
