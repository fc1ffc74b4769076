import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export class RejectedToken extends Error {
  constructor(readonly expired: boolean) {
    super(expired ? 'expired' : 'invalid');
  }
}

const PART = /^[A-Za-z0-9_-]+$/;

function json(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
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

function checkHeader(header: string): void {
  if (acceptedHeaders.has(header)) return;
  const h = json(header);
  if (h.alg !== 'HS256' || 'crit' in h || (h.b64 !== undefined && h.b64 !== true)) throw new RejectedToken(false);
  if (acceptedHeaders.size < HEADERS_KEPT) acceptedHeaders.add(header);
}

/**
 * Synchronous HS256 verification with node:crypto, for the issue path at the opening second: jose's
 * WebCrypto path costs several times more per token. It accepts exactly what jose accepts for HS256
 * with a pinned algorithm, a required exp and a fixed issuer (a test holds the two to the same verdicts):
 * three base64url parts, alg HS256 and no crit header, the signature compared in constant time, exp in
 * the future, nbf (if any) in the past.
 */
export function verifyHs256(token: string, key: KeyObject, issuer: string, nowSeconds = Date.now() / 1000): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => PART.test(p))) throw new RejectedToken(false);
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
  const { exp, nbf, iss } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new RejectedToken(false);
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds)) throw new RejectedToken(false);
  if (iss !== issuer) throw new RejectedToken(false);
  if (exp <= nowSeconds) throw new RejectedToken(true);
  return claims;
}
