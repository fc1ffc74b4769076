import type { Context, Next } from 'koa';
import type { Identity } from './identity.ts';
import { InvalidTokenError, KeySetUnavailable, type TokenVerifier } from './token-verifier.ts';

/**
 * Why a request's identity was refused: no valid token, a role the route is not for, or the identity
 * provider's keys could not be fetched to check the token. The HTTP layer answers it (error-handler.ts).
 */
export class AuthRefusal extends Error {
  readonly outcome: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'KEYS_UNAVAILABLE';
  readonly detail: string;

  constructor(outcome: AuthRefusal['outcome'], detail: string, cause?: unknown) {
    // An answer, not a bug, like a Problem: no stack trace for a flood of bad tokens to pay for.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${outcome}: ${detail}`, cause === undefined ? undefined : { cause });
    Error.stackTraceLimit = limit;
    this.name = 'AuthRefusal';
    this.outcome = outcome;
    this.detail = detail;
  }
}

/** Sets ctx.state.identity from the bearer token. Nothing a client sends besides the token is ever identity. */
export function authenticate(verify: TokenVerifier) {
  return async function authenticated(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/.exec(header);
    if (!match) throw new AuthRefusal('UNAUTHENTICATED', header ? 'The Authorization header is not a Bearer token' : 'Send Authorization: Bearer <token>');
    try {
      ctx.state.identity = await verify(match[1]!);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new AuthRefusal('UNAUTHENTICATED', error.reason);
      if (error instanceof KeySetUnavailable) {
        // The log gets why (the error handler logs a 503 with its error); the client gets no internals.
        throw new AuthRefusal('KEYS_UNAVAILABLE', 'The identity provider\'s signing keys could not be fetched, so the token was not checked; retry shortly', error);
      }
      throw error;
    }
    await next();
  };
}

export async function requireAdmin(ctx: Context, next: Next): Promise<void> {
  if ((ctx.state.identity as Identity | undefined)?.role !== 'admin') throw new AuthRefusal('FORBIDDEN', 'This route is for admins');
  await next();
}

export const identityOf = (ctx: Context): Identity => ctx.state.identity as Identity;
