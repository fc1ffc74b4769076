import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import * as assert from 'uvu/assert';
import { signAccessToken } from '../../src/auth/token-signer.ts';
import { createTokenVerifier, InvalidTokenError, KeySetUnavailable, type TokenVerifier } from '../../src/auth/token-verifier.ts';
import { loadConfig } from '../../src/config/config.ts';
import { spec } from '../support/spec.ts';
import { IdentityProvider, type KeySetAnswer } from './identity-provider.ts';

/**
 * The verifier against a real identity provider's key set on loopback (and the platform's own HS256 tokens):
 * which tokens it takes, and which failures are the key set's (503 upstream) rather than the token's (401).
 */

const ISSUER = 'https://idp.example';
const AUDIENCE = 'coupon-platform';
const SECRET = 'a-secret-that-is-at-least-32-characters';

const jwksVerifier = (idp: IdentityProvider, audience: string | null = AUDIENCE) =>
  createTokenVerifier(loadConfig({ JWT_JWKS_URL: idp.url, JWT_ISSUER: ISSUER, ...(audience ? { JWT_AUDIENCE: audience } : {}) }).jwt);

/** What the verifier did with a token: its identity, or which kind of refusal. */
async function outcome(verify: TokenVerifier, token: string): Promise<string> {
  try {
    const identity = await verify(token);
    return `${identity.role}:${identity.userId}`;
  } catch (error) {
    if (error instanceof InvalidTokenError) return 'invalid';
    if (error instanceof KeySetUnavailable) return 'key set unavailable';
    throw error;
  }
}

const jwks = spec('tokens from a JWKS', async () => {
  const idp = await IdentityProvider.create();
  await idp.start();
  return idp;
}, (idp) => idp.stop());

jwks('a token of the configured issuer and audience is taken, with its role', async (idp) => {
  const verify = jwksVerifier(idp);
  assert.is(await outcome(verify, await idp.sign({ sub: 'root', role: 'admin', iss: ISSUER, aud: AUDIENCE })), 'admin:root');
  assert.is(await outcome(verify, await idp.sign({ sub: 'orders', role: 'service', iss: ISSUER, aud: [AUDIENCE, 'billing'] }, { alg: 'ES256' })), 'service:orders');
  assert.is(await outcome(verify, await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE })), 'user:alice');
});

jwks('a token the provider signed for another issuer is refused, whatever role it claims', async (idp) => {
  const verify = jwksVerifier(idp);
  for (const iss of ['https://other-app.example', `${ISSUER}/`, undefined]) {
    assert.is(await outcome(verify, await idp.sign({ sub: 'mallory', role: 'admin', ...(iss ? { iss } : {}), aud: AUDIENCE })), 'invalid', `iss ${iss}`);
  }
});

jwks('with JWT_AUDIENCE set, a token for another audience, or for none, is refused', async (idp) => {
  const verify = jwksVerifier(idp);
  for (const aud of ['billing', ['billing', 'crm'], undefined]) {
    assert.is(await outcome(verify, await idp.sign({ sub: 'mallory', role: 'admin', iss: ISSUER, ...(aud ? { aud } : {}) })), 'invalid', `aud ${String(aud)}`);
  }
});

jwks('without JWT_AUDIENCE, the issuer alone decides (aud is not read)', async (idp) => {
  const verify = jwksVerifier(idp, null);
  assert.is(await outcome(verify, await idp.sign({ sub: 'alice', iss: ISSUER, aud: 'billing' })), 'user:alice');
  assert.is(await outcome(verify, await idp.sign({ sub: 'mallory', iss: 'https://other-app.example' })), 'invalid');
});

jwks('an expired token is refused', async (idp) => {
  const verify = jwksVerifier(idp);
  assert.is(await outcome(verify, await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE }, { ttl: '-1m' })), 'invalid');
});

jwks('a kid the key set, having answered, does not hold is the token\'s fault (invalid), and the set is not fetched again within jose\'s cooldown', async (idp) => {
  const verify = jwksVerifier(idp);
  assert.is(await outcome(verify, await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE })), 'user:alice');
  const fetched = idp.fetches;
  assert.is(await outcome(verify, await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE }, { kid: 'retired-key' })), 'invalid');
  assert.is(idp.fetches, fetched);
});

const failures = spec('a key set that cannot be had', async () => IdentityProvider.create(), (idp) => idp.stop());

failures('unreachable: the key set is unavailable (not a verdict on the token), and once it answers the same token is taken', async (idp) => {
  await idp.stop();
  const verify = jwksVerifier(idp);
  const token = await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE });
  assert.is(await outcome(verify, token), 'key set unavailable');
  assert.is(await outcome(verify, token), 'key set unavailable', 'a second try fetches again');
  await idp.start();
  assert.is(await outcome(verify, token), 'user:alice');
});

for (const answer of ['not-json', 'not-a-key-set', 'status-500'] as KeySetAnswer[]) {
  failures(`answering ${answer}: unavailable, then taken once the keys are served`, async (idp) => {
    await idp.start();
    idp.answer = answer;
    const verify = jwksVerifier(idp);
    const token = await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE });
    assert.is(await outcome(verify, token), 'key set unavailable');
    idp.answer = 'keys';
    assert.is(await outcome(verify, token), 'user:alice');
    await idp.stop();
  });
}

failures('no answer: unavailable after jose\'s 5 s fetch timeout', async (idp) => {
  await idp.start();
  idp.answer = 'no-answer';
  const started = Date.now();
  assert.is(await outcome(jwksVerifier(idp), await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE })), 'key set unavailable');
  const took = Date.now() - started;
  assert.ok(took >= 4_500 && took < 15_000, `took ${took} ms`);
  await idp.stop();
});

const hs256 = spec('the platform\'s own HS256 tokens');
const hsConfig = (env: Record<string, string> = {}) => loadConfig({ JWT_SECRET: SECRET, ...env }).jwt;

hs256('with JWT_AUDIENCE set, our signer names the audience and the verifier asks for it', async () => {
  const jwt = hsConfig({ JWT_AUDIENCE: AUDIENCE });
  const verify = createTokenVerifier(jwt);
  assert.is(await outcome(verify, await signAccessToken(jwt, { userId: 'alice', role: 'user' })), 'user:alice');
  const key = new TextEncoder().encode(SECRET);
  const forOthers = (aud?: string) => {
    const token = new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setIssuer(jwt.issuer).setExpirationTime('10m');
    return (aud ? token.setAudience(aud) : token).sign(key);
  };
  assert.is(await outcome(verify, await forOthers('billing')), 'invalid');
  assert.is(await outcome(verify, await forOthers()), 'invalid');
  assert.is(await outcome(verify, await forOthers(AUDIENCE)), 'admin:mallory');
});

hs256('a service token verifies to role service', async () => {
  const jwt = hsConfig();
  assert.is(await outcome(createTokenVerifier(jwt), await signAccessToken(jwt, { userId: 'orders', role: 'service' })), 'service:orders');
});

const TOKEN_CLI = fileURLToPath(new URL('../../src/cli/token.ts', import.meta.url));
const tokenCli = (...args: string[]) =>
  spawnSync(process.execPath, [TOKEN_CLI, ...args], { env: { ...process.env, JWT_SECRET: SECRET }, encoding: 'utf8', timeout: 60_000 });

hs256('`npm run token -- --sub orders --role service` signs a service token; --admin still signs an admin one; a wrong role is refused', async () => {
  const verify = createTokenVerifier(hsConfig());
  const signed = async (...args: string[]) => {
    const run = tokenCli(...args);
    assert.is(run.status, 0, run.stderr);
    return outcome(verify, run.stdout.trim());
  };
  assert.is(await signed('--sub', 'orders', '--role', 'service'), 'service:orders');
  assert.is(await signed('--sub', 'root', '--admin'), 'admin:root');
  assert.is(await signed('--sub', 'alice'), 'user:alice');
  for (const args of [['--sub', 'x', '--role', 'superuser'], ['--sub', 'x', '--admin', '--role', 'user']]) {
    const run = tokenCli(...args);
    assert.is(run.status, 2, `${args.join(' ')}: ${run.stdout}`);
    assert.match(run.stderr, /--role user\|service\|admin/);
  }
});

jwks.run();
failures.run();
hs256.run();
