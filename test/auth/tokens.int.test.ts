import { SignJWT, UnsecuredJWT } from 'jose';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';
import { servedRoutes } from '../support/served-routes.ts';

let harness!: Harness;
let couponId!: string;
const tokens = spec('who may call', async () => {
  harness = await Harness.start();
  couponId = await harness.createCoupon();
  return harness;
});

const issue = (headers: Record<string, string>) => harness.request('POST', `/coupons/${couponId}/issue`, { headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const secret = (text: string) => new TextEncoder().encode(text);
const issuer = () => harness.runtime.config.jwt.issuer;

async function assertUnauthenticated(headers: Record<string, string>, detail: RegExp): Promise<void> {
  const answer = await issue(headers);
  assert.is(answer.status, 401, answer.text);
  assert.is(answer.body.code, 'UNAUTHENTICATED');
  assert.match(String(answer.body.detail), detail);
  assert.match(String(answer.headers['www-authenticate']), /^Bearer/);
}

tokens('no token: 401', () => assertUnauthenticated({}, /Authorization: Bearer/));
tokens('garbage: 401', () => assertUnauthenticated(bearer('not.a.jwt'), /not valid/));
tokens('not a Bearer scheme: 401', () => assertUnauthenticated({ authorization: 'Basic YWxpY2U6cHc=' }, /not a Bearer/));

tokens('expired: 401 saying so', async () => {
  const expired = await new SignJWT({ role: 'user' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
    .setIssuer(issuer()).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secret(harness.runtime.config.jwt.secret!));
  await assertUnauthenticated(bearer(expired), /expired/);
});

tokens('signed with another secret: 401', async () => {
  const forged = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory')
    .setIssuer(issuer()).setExpirationTime('1h').sign(secret('another-secret-that-is-at-least-32-chars'));
  await assertUnauthenticated(bearer(forged), /not valid/);
});

tokens('alg none: 401', async () => {
  const unsigned = new UnsecuredJWT({ role: 'admin' }).setSubject('mallory').setIssuer(issuer()).setExpirationTime('1h').encode();
  await assertUnauthenticated(bearer(unsigned), /not valid/);
});

tokens('no exp claim: 401', async () => {
  const forever = await new SignJWT({ role: 'user' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
    .setIssuer(issuer()).sign(secret(harness.runtime.config.jwt.secret!));
  await assertUnauthenticated(bearer(forever), /not valid/);
});

tokens('a role that does not exist: 401', async () => {
  const odd = await new SignJWT({ role: 'superuser' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
    .setIssuer(issuer()).setExpirationTime('1h').sign(secret(harness.runtime.config.jwt.secret!));
  await assertUnauthenticated(bearer(odd), /role/);
});

tokens('a user token on an admin route: 403 FORBIDDEN, and nothing is created', async () => {
  const user = await harness.token('alice');
  for (const [method, path] of [['POST', '/admin/coupons'], ['POST', `/admin/coupons/${couponId}/close`]] as const) {
    const answer = await harness.request(method, path, { token: user, body: {} });
    assert.is(answer.status, 403, `${method} ${path}: ${answer.text}`);
    assert.is(answer.body.code, 'FORBIDDEN');
  }
  assert.is((await harness.request('GET', `/coupons/${couponId}`, { token: user })).body.status, 'OPEN');
});

tokens('every admin route, called with a user token and with a service token: 403 FORBIDDEN', async () => {
  const routes = (await servedRoutes()).filter((r) => r.path.startsWith('/admin/') && !(r.method === 'GET' && r.path === '/admin/dashboard'));
  assert.ok(routes.length >= 15, `the admin routes served: ${routes.length}`);
  for (const role of ['user', 'service'] as const) {
    const token = await harness.token(`not-an-admin-${role}`, role);
    for (const { method, path } of routes) {
      const concrete = path.replace(':couponId', couponId).replace(/:[a-zA-Z]+/g, 'x');
      const answer = await harness.request(method, concrete, { token, ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { body: {} } : {}) });
      assert.equal([answer.status, answer.body?.code], [403, 'FORBIDDEN'], `${role}: ${method} ${path}`);
    }
  }
  assert.equal((await harness.request('GET', `/admin/coupons/${couponId}`, { token: await harness.token('root', 'admin') })).status, 200);
});

tokens('a spoofed X-User-Id changes nothing: identity comes from the token', async () => {
  const alice = await harness.token('alice');
  const answer = await issue({ ...bearer(alice), 'x-user-id': 'victim', 'x-role': 'admin' });
  assert.is(answer.status, 201);
  assert.is(answer.body.userId, 'alice');
  const victim = await harness.request('GET', `/coupons/${couponId}/issuance`, { token: await harness.token('victim') });
  assert.equal(victim.body, { issued: false });
});

tokens.run();
