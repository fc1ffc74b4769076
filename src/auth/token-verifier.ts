import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config/config.ts';
import { identityClaims, type Identity } from './identity.ts';

export type TokenVerifier = (token: string) => Promise<Identity>;

export class InvalidTokenError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

const CACHE_LIMIT = 50_000;

/**
 * HS256 with the configured secret, or RS256/ES256 from a JWKS URL; the algorithm list is pinned, so
 * `alg: none` and algorithm confusion are refused by jose before any claim is read. A verified token is
 * remembered until it expires: the same bytes always verify the same way, and the issue path at the
 * opening second sees each user's token many times.
 */
export function createTokenVerifier(jwt: Config['jwt']): TokenVerifier {
  const jwks: JWTVerifyGetKey | undefined = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;
  // Imported once: handing jose the raw secret makes it import a key on every verification (a third of its cost).
  const hmacKey = jwks
    ? undefined
    : crypto.subtle.importKey('raw', new TextEncoder().encode(jwt.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const verify = jwks
    ? (token: string) => jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256'] })
    : async (token: string) => jwtVerify(token, await hmacKey!, { algorithms: ['HS256'], issuer: jwt.issuer, requiredClaims: ['exp'] });
  const verified = new Map<string, { identity: Identity; expiresAt: number }>();

  return async (token) => {
    const cached = verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.identity;
    let payload: unknown;
    try {
      ({ payload } = await verify(token));
    } catch (error) {
      const reason = error instanceof errors.JWTExpired ? 'The token has expired' : 'The token is not valid';
      throw new InvalidTokenError(reason);
    }
    const claims = identityClaims.safeParse(payload);
    if (!claims.success) throw new InvalidTokenError('The token lacks a valid sub, role or exp claim');
    const email = typeof (payload as { email?: unknown }).email === 'string' ? (payload as { email: string }).email : undefined;
    const identity: Identity = { userId: claims.data.sub, role: claims.data.role, ...(email ? { email } : {}) };
    if (verified.size >= CACHE_LIMIT) verified.clear();
    verified.set(token, { identity, expiresAt: claims.data.exp * 1000 });
    return identity;
  };
}
