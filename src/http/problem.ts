/**
 * RFC 9457 problem details. Every error the API answers is one of these codes, with a status and a
 * title fixed here, so a code always means the same thing to clients.
 */
export const PROBLEMS = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  INVALID_CREDENTIALS: { status: 401, title: 'The email or password is wrong' },
  FORBIDDEN: { status: 403, title: 'This route is not allowed for the caller' },
  NOT_ELIGIBLE: { status: 403, title: 'The caller does not meet the coupon\'s conditions' },
  HUMAN_CHECK_FAILED: { status: 403, title: 'The coupon asks for a human check the caller did not pass' },
  IDENTITY_REQUIRED: { status: 403, title: 'The coupon is one per person and the caller\'s token names no person' },
  PASS_REQUIRED: { status: 403, title: 'The coupon opens through a waiting room and the caller showed no pass of theirs' },
  PASS_EXPIRED: { status: 403, title: 'The caller\'s waiting-room pass lapsed or was used' },
  NOT_IN_QUEUE: { status: 404, title: 'The caller has not joined this coupon\'s waiting room' },
  QUEUE_NOT_OPEN: { status: 409, title: 'The coupon\'s waiting room is not open yet' },
  NOT_A_QUEUE: { status: 409, title: 'The coupon opens directly, without a waiting room' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  COUPON_NOT_FOUND: { status: 404, title: 'No such coupon' },
  COUPON_CODE_TAKEN: { status: 409, title: 'Another coupon has this code' },
  ISSUED_COUPON_NOT_FOUND: { status: 404, title: 'No such issued coupon' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'The method is not allowed on this resource' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request body did not arrive in time' },
  NOT_ACCEPTABLE: { status: 406, title: 'The requested media type is not available' },
  EMAIL_TAKEN: { status: 409, title: 'An account with this email exists' },
  DELIVERY_NOT_DEAD: { status: 409, title: 'Only a dead delivery can be retried' },
  ALREADY_ISSUED: { status: 409, title: 'The caller already holds this coupon' },
  PERSON_ALREADY_ISSUED: { status: 409, title: 'This person already holds this coupon under another account' },
  SOLD_OUT: { status: 409, title: 'The coupon is sold out' },
  ISSUE_NOT_STARTED: { status: 409, title: 'The issue window has not opened yet' },
  ISSUE_ENDED: { status: 409, title: 'The issue window has ended' },
  COUPON_CLOSED: { status: 409, title: 'The coupon is closed for issuing' },
  ISSUE_STARTED: { status: 409, title: 'Issuing has started; the start of the window can no longer move' },
  ALREADY_USED: { status: 409, title: 'The coupon was already used' },
  COUPON_NOT_YET_VALID: { status: 409, title: 'The coupon is not valid yet' },
  COUPON_EXPIRED: { status: 409, title: 'The coupon has expired' },
  COUPON_REVOKED: { status: 409, title: 'The coupon was revoked' },
  NOT_USED: { status: 409, title: 'The coupon is not in use' },
  ORDER_MISMATCH: { status: 409, title: 'The coupon was used or is held for another order' },
  CURRENCY_MISMATCH: { status: 400, title: 'The order is in another currency than the coupon' },
  BUDGET_EXHAUSTED: { status: 409, title: 'The coupon\'s budget has too little left for this discount' },
  HELD: { status: 409, title: 'The coupon is held for another order' },
  NOT_HELD: { status: 409, title: 'The coupon is not held for this order' },
  HOLD_NOT_OFFERED: { status: 409, title: 'The coupon offers no holds' },
  UPLOAD_SUPERSEDED: { status: 409, title: 'A later allow-list upload for this coupon replaced this one' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'The Idempotency-Key was used with another request' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Something went wrong on our side' },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'A service the platform depends on is unavailable' },
  EVENT_LOG_UNAVAILABLE: { status: 503, title: 'Admissions are paused until the event log takes events again' },
  OUTCOME_UNKNOWN: { status: 503, title: 'The request may or may not have taken effect' },
  LOOP_STUCK: { status: 503, title: 'A worker loop of this process has stopped moving' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * An answer, not a bug: it carries no stack trace. Nobody reads one (clients never get stacks), and a
 * sold-out storm answers thousands of these a second.
 */
export class Problem extends Error {
  readonly status: number;
  readonly code: ProblemCode;
  readonly detail: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${code}: ${detail}`);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.detail = detail;
    this.extensions = extensions;
    this.headers = headers;
    this.name = 'Problem';
    this.status = PROBLEMS[code].status;
  }

  body(instance?: string): Record<string, unknown> {
    return {
      type: `/problems/${this.code.toLowerCase().replaceAll('_', '-')}`,
      title: PROBLEMS[this.code].title,
      status: this.status,
      code: this.code,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

/**
 * How one refusal is answered: its code (which fixes status and title), and its detail, extensions and headers,
 * fixed or read from the result that refused. A table of these per decision is where a refusal becomes HTTP.
 */
export interface Refusal<R = unknown> {
  code: ProblemCode;
  detail: string | ((result: R) => string);
  extensions?: (result: R) => Record<string, unknown>;
  headers?: (result: R) => Record<string, string>;
}

/** Every refusal outcome of a decision, with how it is answered. */
export type Refusals<R extends { outcome: string }> = { readonly [O in R['outcome']]: Refusal<Extract<R, { outcome: O }>> };

// A refusal that reads nothing from its result is made once: a sold-out storm answers thousands a second.
const fixed = new WeakMap<Refusal<never>, Problem>();

export function problemOf<R>(refusal: Refusal<R>, result: R): Problem {
  const { code, detail, extensions, headers } = refusal;
  if (typeof detail === 'string' && !extensions && !headers) {
    const made = fixed.get(refusal) ?? new Problem(code, detail);
    fixed.set(refusal, made);
    return made;
  }
  return new Problem(code, typeof detail === 'string' ? detail : detail(result), extensions?.(result), headers?.(result));
}

/** The problem a refusal outcome is answered with, from its decision's table. */
export function problemFor<R extends { outcome: string }>(refusals: Refusals<R>, result: R): Problem {
  return problemOf(refusals[result.outcome as R['outcome']] as Refusal<R>, result);
}

/** The codes a decision's refusals answer with, in the table's order (for the OpenAPI document). */
export const codesOf = (refusals: Readonly<Record<string, Refusal<never>>>): ProblemCode[] => [...new Set(Object.values(refusals).map((refusal) => refusal.code))];
