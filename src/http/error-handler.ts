import type { Context, Next } from 'koa';
import { AuthRefusal } from '../auth/authenticate.ts';
import { DependencyUnavailable, EventLogBacklog, OutcomeUnknown } from '../dependencies/dependency-unavailable.ts';
import { PROBLEM_CONTENT_TYPE, Problem } from './problem.ts';
import { requestLog } from './request-context.ts';

/** Errors that Koa or a body reader raise with a status, mapped to the platform's codes. */
function fromHttpError(error: { status?: number; statusCode?: number; message?: string }): Problem | undefined {
  const status = error.status ?? error.statusCode;
  switch (status) {
    case 400:
      return new Problem('VALIDATION_FAILED', 'The request could not be read');
    case 404:
      return new Problem('NOT_FOUND', 'No route matches this path');
    case 405:
    case 501: // the router's answer to a method it does not know at all, such as TRACE
      return new Problem('METHOD_NOT_ALLOWED', 'This method is not allowed on this path');
    case 413:
      return new Problem('PAYLOAD_TOO_LARGE', 'The request body is over the limit');
    case 415:
      return new Problem('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    default:
      return undefined;
  }
}

/**
 * A dependency that did not answer. "Nothing was changed" is said only when that is known; a decision
 * that went unanswered is OUTCOME_UNKNOWN, and the detail says how a retry learns the real outcome.
 */
function fromDependencyFailure(error: unknown): Problem | undefined {
  const retry = { 'Retry-After': '1' };
  if (error instanceof OutcomeUnknown) {
    return new Problem('OUTCOME_UNKNOWN',
      'The decision could not be confirmed (Redis did not answer in time, or no replica confirmed it), so this request may or may ' +
        'not have taken effect. Retry it: a retry with the same ' +
        'Idempotency-Key gets the first outcome, and a plain retry of an issue answers ALREADY_ISSUED with your coupon if it was issued.',
      {}, retry);
  }
  if (error instanceof EventLogBacklog) {
    return new Problem('EVENT_LOG_UNAVAILABLE',
      'The event log has not taken events for a while and the backlog is at its bound; nothing was changed. Retry later.', {}, { 'Retry-After': '5' });
  }
  if (error instanceof DependencyUnavailable) {
    const detail = error.nothingChanged ? `${error.dependency} is unavailable; nothing was changed, retry shortly` : `${error.dependency} is unavailable; retry shortly`;
    return new Problem('DEPENDENCY_UNAVAILABLE', detail, { dependency: error.dependency }, retry);
  }
  return undefined;
}

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="coupon-platform"' };
/** An identity provider that does not answer is seldom back within a second; jose waits 5 s for each fetch. */
const KEYS_RETRY = { 'Retry-After': '5' };

/** A refused identity: 401 with the Bearer challenge, 403, or 503 when the token could not be checked. */
function fromAuthRefusal(error: AuthRefusal): Problem {
  switch (error.outcome) {
    case 'UNAUTHENTICATED':
      return new Problem('UNAUTHENTICATED', error.detail, {}, CHALLENGE);
    case 'FORBIDDEN':
      return new Problem('FORBIDDEN', error.detail);
    case 'KEYS_UNAVAILABLE':
      return new Problem('DEPENDENCY_UNAVAILABLE', error.detail, { dependency: 'identity-provider' }, KEYS_RETRY);
  }
}

/** Turns every failure into problem+json; unexpected ones are logged with their stack and answered without it. */
export async function errorHandler(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new Problem('NOT_FOUND', `No route matches ${ctx.method} ${ctx.path}`);
    // The router answers a method a path does not serve (501 for one it does not know at all) with Allow.
    if ((ctx.status === 405 || ctx.status === 501) && !ctx.body) {
      throw new Problem('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on this path`, {}, { Allow: ctx.response.get('Allow') });
    }
  } catch (error) {
    let problem = error instanceof Problem ? error
      : error instanceof AuthRefusal ? fromAuthRefusal(error) : (fromDependencyFailure(error) ?? fromHttpError(error as { status?: number }));
    if (!problem) {
      requestLog(ctx).error({ err: error }, 'unhandled error');
      problem = new Problem('INTERNAL_ERROR', 'The request failed; it has been logged with its request id');
    } else if (problem.status >= 500) {
      requestLog(ctx).warn({ err: error, code: problem.code }, problem.detail);
    }
    answerProblem(ctx, problem);
  }
}

/**
 * Answers with a problem without throwing it: for outcomes a route expects by the thousand (a sold-out
 * storm), where a throw unwinds every middleware's await.
 */
export function answerProblem(ctx: Context, problem: Problem): void {
  ctx.status = problem.status;
  ctx.set(problem.headers);
  ctx.set('Content-Type', PROBLEM_CONTENT_TYPE);
  ctx.body = problem.body(ctx.state.requestId ? `urn:request:${ctx.state.requestId}` : undefined);
}
