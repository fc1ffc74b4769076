import { createHmac } from 'node:crypto';
import { errors, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import * as assert from 'uvu/assert';
import { hs256Key, RejectedToken, verifyHs256 } from '../../src/auth/hs256.ts';
import { spec } from '../support/spec.ts';

const secret = 'a-secret-that-is-at-least-32-characters';
const key = Buffer.from(secret);
const issuer = 'coupon-platform';
const now = Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const sign = (header: unknown, payload: unknown, withKey = key) => {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${createHmac('sha256', withKey).update(signingInput).digest('base64url')}`;
};
const good = { sub: 'u1', role: 'user', iss: issuer, exp: now + 600 };

const tokens: Record<string, string> = {
  valid: sign({ alg: 'HS256', typ: 'JWT' }, good),
  'valid, made by jose': await new SignJWT({ role: 'user' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer(issuer).setExpirationTime('10m').sign(key),
  expired: sign({ alg: 'HS256' }, { ...good, exp: now - 5 }),
  'not yet valid': sign({ alg: 'HS256' }, { ...good, nbf: now + 600 }),
  'nbf in the past': sign({ alg: 'HS256' }, { ...good, nbf: now - 600 }),
  'another issuer': sign({ alg: 'HS256' }, { ...good, iss: 'someone-else' }),
  'no issuer': sign({ alg: 'HS256' }, { sub: 'u1', exp: now + 600 }),
  'no exp': sign({ alg: 'HS256' }, { sub: 'u1', iss: issuer }),
  'exp as text': sign({ alg: 'HS256' }, { ...good, exp: String(now + 600) }),
  'iat as text': sign({ alg: 'HS256' }, { ...good, iat: 'x' }),
  'iat a number': sign({ alg: 'HS256' }, { ...good, iat: now }),
  'b64 false without crit (ignored)': sign({ alg: 'HS256', b64: false }, good),
  'crit b64 with b64 true': sign({ alg: 'HS256', crit: ['b64'], b64: true }, good),
  'crit b64 with b64 false': sign({ alg: 'HS256', crit: ['b64'], b64: false }, good),
  'alg none': new UnsecuredJWT(good).encode(),
  'alg HS512 with the same key': `${b64({ alg: 'HS512' })}.${b64(good)}.${createHmac('sha512', key).update(`${b64({ alg: 'HS512' })}.${b64(good)}`).digest('base64url')}`,
  'an unknown critical header': sign({ alg: 'HS256', crit: ['x'], x: 1 }, good),
  'another key': sign({ alg: 'HS256' }, good, Buffer.from('another-secret-that-is-at-least-32-chars')),
  'a tampered payload': (() => { const [h, , s] = sign({ alg: 'HS256' }, good).split('.'); return `${h}.${b64({ ...good, role: 'admin' })}.${s}`; })(),
  'a claims set that is not an object': sign({ alg: 'HS256' }, [1, 2]),
  'a header that is not JSON': (() => { const p = b64(good); const h = b64('not json'); return `${h}.${p}.${createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')}`; })(),
  'two parts': sign({ alg: 'HS256' }, good).split('.').slice(0, 2).join('.'),
  'four parts': `${sign({ alg: 'HS256' }, good)}.x`,
  'padding in the signature': `${sign({ alg: 'HS256' }, good)}=`,
  'empty': '',
};

async function joseVerdict(token: string): Promise<string> {
  try {
    await jwtVerify(token, key, { algorithms: ['HS256'], issuer, requiredClaims: ['exp'] });
    return 'accepted';
  } catch (error) {
    return error instanceof errors.JWTExpired ? 'expired' : 'rejected';
  }
}

function ourVerdict(token: string): string {
  try {
    verifyHs256(token, hs256Key(secret), { issuer });
    return 'accepted';
  } catch (error) {
    assert.instance(error, RejectedToken);
    return (error as RejectedToken).expired ? 'expired' : 'rejected';
  }
}

/** Where it is stricter than jose: JWTs are unpadded base64url (RFC 7515), and jose tolerates a pad. */
const STRICTER = new Set(['padding in the signature']);

const hs256 = spec('synchronous HS256 verification agrees with jose');
for (const [name, token] of Object.entries(tokens)) {
  hs256(name, async () => {
    if (STRICTER.has(name)) assert.equal([ourVerdict(token), await joseVerdict(token)], ['rejected', 'accepted']);
    else assert.is(ourVerdict(token), await joseVerdict(token));
  });
}
hs256('verdicts do not change once headers have been seen (accepted headers are remembered)', async () => {
  for (const [name, token] of [...Object.entries(tokens)].reverse()) {
    if (!STRICTER.has(name)) assert.is(ourVerdict(token), await joseVerdict(token), name);
  }
});
hs256('the valid ones are accepted and the rest are not', () => {
  const accepted = Object.entries(tokens).filter(([, t]) => ourVerdict(t) === 'accepted').map(([n]) => n);
  assert.equal(accepted, ['valid', 'valid, made by jose', 'nbf in the past', 'iat a number', 'b64 false without crit (ignored)', 'crit b64 with b64 true']);
});
hs256.run();
