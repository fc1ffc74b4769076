import { SignJWT } from 'jose';
import type { Config } from '../config/config.ts';
import type { EligibilityClaims, Identity } from './identity.ts';

/** Signs the platform's own HS256 access tokens (login, the dev `token` script, tests). */
/** `claims`: further claims the token carries (what eligibility rules match, e.g. `{ tier: 'gold' }`). */
export async function signAccessToken(jwt: Config['jwt'], identity: Pick<Identity, 'userId' | 'role'> & { email?: string; claims?: EligibilityClaims }, ttlSeconds = jwt.ttlSeconds): Promise<string> {
  if (!jwt.secret) throw new Error('JWT_SECRET is required to sign tokens');
  const token = new SignJWT({ ...identity.claims, role: identity.role, ...(identity.email ? { email: identity.email } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity.userId)
    .setIssuer(jwt.issuer)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  // The verifier asks for this audience when one is configured, so our own tokens must name it.
  if (jwt.audience) token.setAudience(jwt.audience);
  return token.sign(new TextEncoder().encode(jwt.secret));
}
