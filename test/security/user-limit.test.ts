import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const limit = spec('per-user limit on issue and use', async () => (harness = await Harness.start({ env: { USER_LIMIT: '3', USER_LIMIT_WINDOW_MS: '60000' } })));

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

limit.run();
