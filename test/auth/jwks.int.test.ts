import * as assert from 'uvu/assert';
import { Harness, type Answer } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';
import { IdentityProvider } from './identity-provider.ts';

/**
 * The API with JWT_JWKS_URL, against a real identity provider on loopback that also signs for other
 * applications: only its tokens for this platform (issuer and audience) are taken, and when its key set
 * cannot be fetched the API answers 503 with Retry-After, never a 401 that would send a user to log in again.
 */

const ISSUER = 'https://idp.example';
const AUDIENCE = 'coupon-platform';

interface Fixture {
  idp: IdentityProvider;
  harness: Harness;
}

const jwks = spec('the API with a JWKS', async (): Promise<Fixture> => {
  const idp = await IdentityProvider.create();
  const harness = await Harness.start({ env: { JWT_JWKS_URL: idp.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE } });
  return { idp, harness };
}, async ({ idp, harness }) => {
  await harness.close();
  await idp.stop();
});

const ours = (idp: IdentityProvider, sub: string, role?: string) => idp.sign({ sub, ...(role ? { role } : {}), iss: ISSUER, aud: AUDIENCE });
const myCoupons = (harness: Harness, token: string) => harness.request('GET', '/me/coupons', { token });

function createCoupon(harness: Harness, token: string): Promise<Answer> {
  const now = Date.now();
  return harness.request('POST', '/admin/coupons', {
    token,
    body: {
      name: 'JWKS coupon', totalQuantity: 5, discount: { type: 'PERCENT', value: 10 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
    },
  });
}

function assertUnauthenticated(answer: Answer): void {
  assert.is(answer.status, 401, answer.text);
  assert.is(answer.body.code, 'UNAUTHENTICATED');
}

jwks('the key set unreachable: 503 DEPENDENCY_UNAVAILABLE as problem+json with Retry-After, and nothing created', async ({ idp, harness }) => {
  const answer = await createCoupon(harness, await ours(idp, 'root', 'admin'));
  assert.is(answer.status, 503, answer.text);
  assert.is(answer.body.code, 'DEPENDENCY_UNAVAILABLE');
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  assert.ok(Number(answer.headers['retry-after']) >= 1, `Retry-After: ${answer.headers['retry-after']}`);
  assert.not.match(answer.text, /127\.0\.0\.1|ECONNREFUSED|fetch failed/, 'no internals to the client');
  assert.is((await myCoupons(harness, await ours(idp, 'alice'))).status, 503, 'a failed fetch is not remembered as a verdict');
});

jwks('the key set back: the same kind of token is answered 200, and an admin token creates a coupon (201)', async ({ idp, harness }) => {
  await idp.start();
  const answer = await myCoupons(harness, await ours(idp, 'alice'));
  assert.is(answer.status, 200, answer.text);
  const created = await createCoupon(harness, await ours(idp, 'root', 'admin'));
  assert.is(created.status, 201, created.text);
});

jwks('a token the provider signed for another application (its issuer, its audience) is 401, even claiming admin', async ({ idp, harness }) => {
  assertUnauthenticated(await createCoupon(harness, await idp.sign({ sub: 'mallory', role: 'admin', iss: 'https://other-app.example', aud: 'other-app' })));
  assertUnauthenticated(await createCoupon(harness, await idp.sign({ sub: 'mallory', role: 'admin', iss: 'https://other-app.example', aud: AUDIENCE })));
});

jwks('a token of our issuer for another audience is 401 with JWT_AUDIENCE set', async ({ idp, harness }) => {
  assertUnauthenticated(await createCoupon(harness, await idp.sign({ sub: 'mallory', role: 'admin', iss: ISSUER, aud: 'other-app' })));
  assertUnauthenticated(await createCoupon(harness, await idp.sign({ sub: 'mallory', role: 'admin', iss: ISSUER })));
});

jwks('a kid the served key set does not hold is 401, not 503', async ({ idp, harness }) => {
  assertUnauthenticated(await myCoupons(harness, await idp.sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE }, { kid: 'retired-key' })));
});

jwks('the role of a token for us is honoured: a user is 403 on an admin route and issues as its own sub', async ({ idp, harness }) => {
  const admin = await ours(idp, 'root', 'admin');
  const couponId = (await createCoupon(harness, admin)).body.id as string;
  const user = await ours(idp, 'alice');
  const forbidden = await createCoupon(harness, user);
  assert.is(forbidden.status, 403, forbidden.text);
  const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token: user });
  assert.is(issued.status, 201, issued.text);
  assert.is(issued.body.userId, 'alice');
});

jwks.run();
