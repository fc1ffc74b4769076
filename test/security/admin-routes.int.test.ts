import { SignJWT } from 'jose';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { servedRoutes } from '../support/served-routes.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
let expiredAdmin!: string;
let user!: string;
const matrix = spec('every admin route refuses callers who are not admins', async () => {
  harness = await Harness.start();
  const { secret, issuer } = harness.runtime.config.jwt;
  expiredAdmin = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('root').setIssuer(issuer)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(secret));
  user = await harness.token('plain-user');
  return harness;
});
const sample: Record<string, string> = { couponId: '01937a4e-0000-7000-8000-000000000001', notificationId: 'n-1', channel: 'webhook' };

// Read from the router itself, so a new admin route is covered the day it is added.
// The one exception is the dashboard's page: a browser navigating to it cannot send a token, and it holds no
// data (it signs in and reads /admin/dashboard/events, which is checked here like every admin route).
const PUBLIC_SHELLS = ['/admin/dashboard'];
const adminRoutes = (await servedRoutes()).filter((r) => r.path.startsWith('/admin') && !PUBLIC_SHELLS.includes(r.path));

matrix('the router has admin routes to check', () => {
  assert.ok(adminRoutes.length >= 9, JSON.stringify(adminRoutes));
});

for (const { method, path } of adminRoutes) {
  const url = path.replace(/:(\w+)/g, (_, name: string) => sample[name] ?? 'x');
  matrix(`${method} ${path}: no token 401, user token 403, expired admin token 401`, async () => {
    const none = await harness.request(method, url, { body: method === 'POST' ? {} : undefined });
    assert.is(none.status, 401);
    assert.is(none.body.code, 'UNAUTHENTICATED');
    const asUser = await harness.request(method, url, { token: user, body: method === 'POST' ? {} : undefined });
    assert.is(asUser.status, 403);
    assert.is(asUser.body.code, 'FORBIDDEN');
    const expired = await harness.request(method, url, { token: expiredAdmin, body: method === 'POST' ? {} : undefined });
    assert.is(expired.status, 401);
    assert.match(String(expired.body.detail), /expired/);
  });
}

matrix.run();
