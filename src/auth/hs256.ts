import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export class RejectedToken extends Error {
  readonly expired: boolean;

  constructor(expired: boolean) {
    super(expired ? 'expired' : 'invalid');
    this.expired = expired;
  }
}

/**
 * Unpadded base64url, as RFC 7515 writes JWTs. A length of 4n+1 holds no whole byte: Buffer would drop the
 * odd character and decode the rest, where jose (atob) refuses the part.
 */
const isPart = (p: string) => p.length % 4 !== 1 && /^[A-Za-z0-9_-]+$/.test(p);

/** jose's decoder: malformed UTF-8 is refused (Buffer would put U+FFFD in its place), and a leading BOM is dropped. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function json(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(utf8.decode(Buffer.from(part, 'base64url')));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RejectedToken(false);
  return value as Record<string, unknown>;
}

/**
 * The secret as a KeyObject, made once: createHmac with a Buffer key prepares key material on every call,
 * 12.8 µs against 2.3 µs with a KeyObject on Node 24 (measured one after the other in one process).
 */
export const hs256Key = (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8'));

/** The few distinct headers a deployment's tokens carry, checked once each. */
const acceptedHeaders = new Set<string>();
const HEADERS_KEPT = 64;

/**
 * jose knows one critical extension, b64, and a JWT may only say it is true; without crit, jose ignores b64
 * whatever its value, and so do we.
 */
function checkHeader(header: string): void {
  if (acceptedHeaders.has(header)) return;
  const h = json(header);
  if (h.alg !== 'HS256') throw new RejectedToken(false);
  if (h.crit !== undefined && !(Array.isArray(h.crit) && h.crit.length > 0 && h.crit.every((p) => p === 'b64') && h.b64 === true)) {
    throw new RejectedToken(false);
  }
  if (acceptedHeaders.size < HEADERS_KEPT) acceptedHeaders.add(header);
}

export interface Hs256Expectations {
  issuer: string;
  /** When set, `aud` must be it or a list holding it. */
  audience?: string;
}

/**
 * Synchronous HS256 verification with node:crypto, for the issue path at the opening second: jose's
 * WebCrypto path costs several times more per token. It gives jose's verdict for
 * `jwtVerify(token, key, { algorithms: ['HS256'], issuer, audience, requiredClaims: ['exp'] })` (a test
 * holds the two to the same verdicts on thousands of mutated tokens), in jose's order: the header (alg
 * HS256, crit), the signature in constant time, then the claims set: exp present, iss, aud, iat and nbf
 * numbers if present, nbf not in the future, exp a number; expired only when all else holds. Times are
 * compared with whole seconds, as jose does. It is stricter in one way: padding is refused.
 */
export function verifyHs256(token: string, key: KeyObject, expect: Hs256Expectations, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every(isPart)) throw new RejectedToken(false);
  const [header, payload, signature] = parts as [string, string, string];
  let claims: Record<string, unknown>;
  try {
    checkHeader(header);
    const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new RejectedToken(false);
    claims = json(payload);
  } catch (error) {
    throw error instanceof RejectedToken ? error : new RejectedToken(false);
  }
  const { exp, nbf, iat, iss, aud } = claims;
  const { issuer, audience } = expect;
  // A JSON object has no undefined member: undefined here is a claim that is absent.
  if (exp === undefined || iss !== issuer) throw new RejectedToken(false);
  if (audience !== undefined && aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) throw new RejectedToken(false);
  if (iat !== undefined && typeof iat !== 'number') throw new RejectedToken(false);
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds)) throw new RejectedToken(false);
  if (typeof exp !== 'number') throw new RejectedToken(false);
  if (exp <= nowSeconds) throw new RejectedToken(true);
  return claims;
}
