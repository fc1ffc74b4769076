import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config/config.ts';
import { hs256Key, verifyHs256, type RejectedToken } from './hs256.ts';
import { eligibilityClaims, identityClaims, type Identity } from './identity.ts';
import { BoundedCache, stringBytes } from '../memory/bounded-cache.ts';

export type TokenVerifier = (token: string) => Promise<Identity>;

export class InvalidTokenError extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.reason = reason;
    this.name = 'InvalidTokenError';
  }
}

/** The identity provider's key set could not be had: the token was not judged, so the caller may retry it. */
export class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the JWKS could not be fetched: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'KeySetUnavailable';
  }
}

/** Verified tokens kept, in bytes: 18,000 to 35,000 tokens of a plain user (the older generation dropped whole). */
const CACHE_BYTES = 16 * 1024 * 1024;
/** The entry's strings, and the identity, the entry and the Map's slot around them. */
const entryBytes = (token: string, { identity }: { identity: Identity }) =>
  200 + stringBytes(token) + stringBytes(identity.userId) + stringBytes(identity.claims) + (identity.email ? stringBytes(identity.email) : 0);

/** What the key set, having answered, says about the token itself: no key for its kid, or no single one. */
const TOKEN_FAULTS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];

/**
 * jose fetches the key set on first use, when it is older than 10 minutes, and on an unknown kid (at most
 * every 30 s); a failed fetch is not remembered, so the next token fetches again.
 */
function remoteKeys(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url));
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (TOKEN_FAULTS.some((fault) => error instanceof fault)) throw error;
      throw new KeySetUnavailable(error);
    }
  };
}

/**
 * HS256 with the configured secret (verified synchronously, see hs256.ts), or RS256/ES256 from a JWKS URL
 * through jose; the algorithm is pinned either way, so `alg: none` and algorithm confusion are refused
 * before any claim is read, and both paths check the same claims (exp required, iss, aud when configured).
 * A verified token is remembered until it expires: the same bytes always verify the same way, and the
 * issue path at the opening second sees each user's token many times. Only verdicts are remembered: a
 * key set that could not be fetched leaves nothing behind.
 */
export function createTokenVerifier(jwt: Config['jwt']): TokenVerifier {
  const expect = { issuer: jwt.issuer, ...(jwt.audience ? { audience: jwt.audience } : {}) };
  const secret = hs256Key(jwt.secret ?? '');
  const jwks = jwt.jwksUrl ? remoteKeys(jwt.jwksUrl) : undefined;
  const verify = jwks
    ? (token: string) => jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256'], requiredClaims: ['exp'], ...expect })
    : async (token: string) => {
        try {
          return { payload: verifyHs256(token, secret, expect) };
        } catch (error) {
          throw (error as RejectedToken).expired ? new errors.JWTExpired('expired', {}) : error;
        }
      };
  const verified = new BoundedCache<string, { identity: Identity; expiresAt: number }>(CACHE_BYTES, entryBytes);

  return async (token) => {
    const cached = verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.identity;
    let payload: unknown;
    try {
      ({ payload } = await verify(token));
    } catch (error) {
      if (error instanceof KeySetUnavailable) throw error;
      const reason = error instanceof errors.JWTExpired ? 'The token has expired' : 'The token is not valid';
      throw new InvalidTokenError(reason);
    }
    const claims = identityClaims.safeParse(payload);
    if (!claims.success) throw new InvalidTokenError('The token lacks a valid sub, role or exp claim');
    const email = typeof (payload as { email?: unknown }).email === 'string' ? (payload as { email: string }).email : undefined;
    const identity: Identity = {
      userId: claims.data.sub, role: claims.data.role, ...(email ? { email } : {}), claims: JSON.stringify(eligibilityClaims(payload as Record<string, unknown>)),
    };
    verified.set(token, { identity, expiresAt: claims.data.exp * 1000 });
    return identity;
  };
}
