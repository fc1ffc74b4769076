import { z } from 'zod';

export const ROLES = ['user', 'service', 'admin'] as const;

/** What a verified token says about its bearer; the only source of identity in the platform. */
export const identityClaims = z.object({
  sub: z.string().min(1).max(191),
  role: z.enum(ROLES).default('user'),
  exp: z.number().int(),
});

/** A claim a coupon's eligibility may require: a string, or a list of them (e.g. `tier: "gold"`, `groups: ["staff"]`). */
export type EligibilityClaims = Record<string, string | string[]>;

export interface Identity {
  userId: string;
  role: (typeof ROLES)[number];
  email?: string;
  /** The token's other claims that eligibility can match, as JSON (computed once per token; the admission script reads it). */
  claims: string;
}

/**
 * Registered JWT claims and the ones identity already uses: never matched by eligibility. `__proto__` too: an
 * object cannot hold it as a claim of its own, so no token could ever carry it.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'role', 'email', '__proto__']);
const LIMIT = 32;
const text = (v: unknown): v is string => typeof v === 'string' && v.length <= 200;

/** The payload's claims eligibility can match: strings and lists of strings, bounded in number and size; the rest is ignored. */
export function eligibilityClaims(payload: Record<string, unknown>): EligibilityClaims {
  const out: EligibilityClaims = {};
  for (const [name, value] of Object.entries(payload)) {
    if (RESERVED_CLAIMS.has(name) || name.length > 64 || Object.keys(out).length >= LIMIT) continue;
    if (text(value)) out[name] = value;
    else if (Array.isArray(value) && value.length <= LIMIT && value.every(text)) out[name] = value;
  }
  return out;
}
