import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const headers = spec('security headers and CORS', async () => (harness = await Harness.start({ env: { CORS_ORIGINS: 'https://shop.example' } })));

headers('every answer, an error too, carries the security headers', async () => {
  for (const path of ['/healthz', '/no/such/route']) {
    const answer = await harness.request('GET', path);
    assert.is(answer.headers['x-content-type-options'], 'nosniff');
    assert.is(answer.headers['x-frame-options'], 'DENY');
    assert.is(answer.headers['cache-control'], 'no-store');
    assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/);
  }
  assert.match(String((await harness.request('GET', '/docs')).headers['content-security-policy']), /connect-src 'self'/);
});

headers('a configured origin gets CORS and its preflight; any other origin gets none', async () => {
  const preflight = await harness.request('OPTIONS', '/coupons/x/issue', {
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
  });
  assert.is(preflight.status, 204);
  assert.is(preflight.headers['access-control-allow-origin'], 'https://shop.example');
  assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
  const stranger = await harness.request('GET', '/healthz', { headers: { origin: 'https://evil.example' } });
  assert.is(stranger.headers['access-control-allow-origin'], undefined);
  const friend = await harness.request('GET', '/healthz', { headers: { origin: 'https://shop.example' } });
  assert.is(friend.headers['access-control-allow-origin'], 'https://shop.example');
  assert.match(String(friend.headers.vary), /Origin/);
});

headers.run();
