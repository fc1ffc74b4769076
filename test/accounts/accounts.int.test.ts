import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const accounts = spec('signup and login', async () => (harness = await Harness.start({ env: { LOGIN_LIMIT_PER_EMAIL: '3', LOGIN_LIMIT_PER_ADDRESS: '1000' } })));

const signup = (body: unknown) => harness.request('POST', '/auth/signup', { body });
const login = (body: unknown) => harness.request('POST', '/auth/login', { body });

accounts('signup creates an account; login gives a token the API accepts, naming that account', async () => {
  const created = await signup({ email: 'Carol@Example.com', password: 'correct horse battery' });
  assert.is(created.status, 201);
  const userId = String(created.body.userId);
  const token = await login({ email: 'carol@example.com', password: 'correct horse battery' });
  assert.is(token.status, 200);
  assert.is(token.body.tokenType, 'Bearer');
  assert.is(token.body.expiresIn, 3600);
  const couponId = await harness.createCoupon();
  const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token: String(token.body.accessToken) });
  assert.is(issued.status, 201);
  assert.is(issued.body.userId, userId);
  const stored = await harness.runtime.db.selectFrom('user_account').select(['email', 'password_hash']).where('id', '=', userId).executeTakeFirstOrThrow();
  assert.is(stored.email, 'carol@example.com');
  assert.match(stored.password_hash, /^scrypt\$32768\$8\$1\$/);
  assert.not.match(stored.password_hash, /correct horse/);
});

accounts('a duplicate email is 409 EMAIL_TAKEN, whatever its case', async () => {
  assert.is((await signup({ email: 'dup@example.com', password: 'password-one' })).status, 201);
  const again = await signup({ email: 'DUP@example.com', password: 'password-two' });
  assert.is(again.status, 409);
  assert.is(again.body.code, 'EMAIL_TAKEN');
});

accounts('bad input is 400 naming the fields', async () => {
  const bad = await signup({ email: 'not-an-email', password: 'short', admin: true });
  assert.is(bad.status, 400);
  assert.equal((bad.body.errors as { path: string }[]).map((e) => e.path).sort(), ['admin', 'email', 'password']);
});

accounts('a wrong password and an unknown email are the same 401', async () => {
  await signup({ email: 'dave@example.com', password: 'the right one' });
  const wrong = await login({ email: 'dave@example.com', password: 'the wrong one' });
  const unknown = await login({ email: 'nobody@example.com', password: 'whatever it is' });
  for (const answer of [wrong, unknown]) {
    assert.is(answer.status, 401);
    assert.is(answer.body.code, 'INVALID_CREDENTIALS');
  }
  assert.is(wrong.body.detail, unknown.body.detail);
});

accounts('past the limit per email, login answers 429 with Retry-After, even with the right password', async () => {
  await signup({ email: 'erin@example.com', password: 'erins password' });
  for (let i = 0; i < 3; i++) assert.is((await login({ email: 'erin@example.com', password: 'guess number ' + i })).status, 401);
  const limited = await login({ email: 'erin@example.com', password: 'erins password' });
  assert.is(limited.status, 429);
  assert.is(limited.body.code, 'RATE_LIMITED');
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
  assert.is((await login({ email: 'frank@example.com', password: 'another user' })).status, 401, 'other emails are not limited');
});

accounts.run();
