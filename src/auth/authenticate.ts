import type { Context, Next } from 'koa';
import { Problem } from '../http/problem.ts';
import type { Identity } from './identity.ts';
import { InvalidTokenError, KeySetUnavailable, type TokenVerifier } from './token-verifier.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="coupon-platform"' };
/** An identity provider that does not answer is seldom back within a second; jose waits 5 s for each fetch. */
const KEYS_RETRY = { 'Retry-After': '5' };

/** Sets ctx.state.identity from the bearer token. Nothing a client sends besides the token is ever identity. */
export function authenticate(verify: TokenVerifier) {
  return async function authenticated(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/.exec(header);
    if (!match) throw new Problem('UNAUTHENTICATED', header ? 'The Authorization header is not a Bearer token' : 'Send Authorization: Bearer <token>', {}, CHALLENGE);
    try {
      ctx.state.identity = await verify(match[1]!);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new Problem('UNAUTHENTICATED', error.reason, {}, CHALLENGE);
      if (error instanceof KeySetUnavailable) {
        // The log gets why (the error handler logs a 503 with its error); the client gets no internals.
        throw Object.assign(new Problem('DEPENDENCY_UNAVAILABLE', 'The identity provider\'s signing keys could not be fetched, so the token was not checked; retry shortly', { dependency: 'identity-provider' }, KEYS_RETRY), { cause: error });
      }
      throw error;
    }
    await next();
  };
}

export async function requireAdmin(ctx: Context, next: Next): Promise<void> {
  if ((ctx.state.identity as Identity | undefined)?.role !== 'admin') throw new Problem('FORBIDDEN', 'This route is for admins');
  await next();
}

export const identityOf = (ctx: Context): Identity => ctx.state.identity as Identity;
