import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config/config.ts';
import { hs256Key, verifyHs256, type RejectedToken } from './hs256.ts';
import { eligibilityClaims, identityClaims, type Identity } from './identity.ts';

export type TokenVerifier = (token: string) => Promise<Identity>;

export class InvalidTokenError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

const CACHE_LIMIT = 50_000;

/**
 * HS256 with the configured secret (verified synchronously, see hs256.ts), or RS256/ES256 from a JWKS URL
 * through jose; the algorithm is pinned either way, so `alg: none` and algorithm confusion are refused
 * before any claim is read. A verified token is
 * remembered until it expires: the same bytes always verify the same way, and the issue path at the
 * opening second sees each user's token many times.
 */
export function createTokenVerifier(jwt: Config['jwt']): TokenVerifier {
  const jwks: JWTVerifyGetKey | undefined = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;
  const secret = hs256Key(jwt.secret ?? '');
  const verify = jwks
    ? (token: string) => jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256'] })
    : async (token: string) => {
        try {
          return { payload: verifyHs256(token, secret, { issuer: jwt.issuer }) };
        } catch (error) {
          throw (error as RejectedToken).expired ? new errors.JWTExpired('expired', {}) : error;
        }
      };
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
    const identity: Identity = {
      userId: claims.data.sub, role: claims.data.role, ...(email ? { email } : {}), claims: JSON.stringify(eligibilityClaims(payload as Record<string, unknown>)),
    };
    if (verified.size >= CACHE_LIMIT) verified.clear();
    verified.set(token, { identity, expiresAt: claims.data.exp * 1000 });
    return identity;
  };
}
