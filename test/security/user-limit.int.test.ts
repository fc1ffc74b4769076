import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const LIMIT = { USER_LIMIT: '3', USER_LIMIT_WINDOW_MS: '60000' };
const limit = spec('per-user limit on issue and use', async () => (harness = await Harness.start({ env: LIMIT })));

limit('past the limit a user gets 429 with Retry-After on issue; other users are not affected', async () => {
  const couponId = await harness.createCoupon();
  const token = await harness.token('hammer');
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await harness.request('POST', `/coupons/${couponId}/issue`, { token })).status);
  assert.equal(codes, [201, 409, 409, 429]);
  const limited = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  assert.is(limited.body.code, 'RATE_LIMITED');
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('calm') })).status, 201);
});

limit('use is limited the same way', async () => {
  const couponId = await harness.createCoupon();
  const token = await harness.token('user-of-use');
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token })).status);
  assert.equal(codes, [200, 409, 409, 429]);
});

limit('given three API processes, when a user sends 30 issue and then 30 use attempts at once spread over them, then exactly the limit is decided', async () => {
  const others = await Promise.all([spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn', ...LIMIT }), spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn', ...LIMIT })]);
  try {
    const apis = [harness.api.url, ...others.map((o) => o.url)];
    const couponId = await harness.createCoupon();
    const token = await harness.token('spread-over-processes');
    const attempt = async (i: number, path: string) => {
      const res = await fetch(`${apis[i % apis.length]}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { code?: string; issuedCouponId?: string };
      return { status: res.status, code: body.code, issuedCouponId: body.issuedCouponId };
    };
    const count = (answers: { status: number; code?: string }[]) => {
      const counts: Record<string, number> = {};
      for (const a of answers) counts[`${a.status}${a.code ? ` ${a.code}` : ''}`] = (counts[`${a.status}${a.code ? ` ${a.code}` : ''}`] ?? 0) + 1;
      return counts;
    };
    const issues = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(i, `/coupons/${couponId}/issue`)));
    // A limit kept per process would have let 3 through on each of the three: 9 decisions.
    assert.equal(count(issues), { 201: 1, '409 ALREADY_ISSUED': 2, '429 RATE_LIMITED': 27 });
    const issuedCouponId = issues.find((a) => a.status === 201)!.issuedCouponId!;
    const uses = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(i, `/issued-coupons/${issuedCouponId}/use`)));
    assert.equal(count(uses), { 200: 1, '409 ALREADY_USED': 2, '429 RATE_LIMITED': 27 });
  } finally {
    await Promise.all(others.map((o) => o.stop()));
  }
});

limit.run();
