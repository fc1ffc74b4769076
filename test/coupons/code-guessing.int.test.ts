import * as assert from 'uvu/assert';
import { Harness, type Answer } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

// Limits low enough to reach. The per-address count is this machine's (every test talks from 127.0.0.1), which
// other files' misses may have raised a little: the specs below bound it rather than name it.
const PER_CALLER = 10;
const PER_ADDRESS = 60;
let harness!: Harness;
const guessing = spec('codes that cannot be guessed', async () => (harness = await Harness.start({
  relay: true, env: { CODE_GUESSES_PER_CALLER: String(PER_CALLER), CODE_GUESSES_PER_ADDRESS: String(PER_ADDRESS), CODE_GUESS_WINDOW_SECONDS: '600', USER_LIMIT: '100000' },
})));

const lookup = async (code: string, user: string, claims?: Record<string, string>): Promise<Answer> =>
  harness.request('GET', `/coupons/by-code/${code}`, { token: await harness.token(user, 'user', undefined, claims) });
const claim = async (code: string, user: string, claims?: Record<string, string>): Promise<Answer> =>
  harness.request('POST', `/coupons/by-code/${code}/issue`, { token: await harness.token(user, 'user', undefined, claims) });
/** A fresh code part, so no two specs (nor two runs) share a code. */
const freshTag = () => Math.random().toString(36).slice(2, 8).toUpperCase();
let misses = 0;

guessing('given a caller holding nothing from them, when they look up or claim an unknown code, a closed coupon\'s, one on an allow-list without them and one requiring claims they lack, then all eight answers are the same bytes and nothing is issued; holders and eligible callers are answered as before', async () => {
  const admin = await harness.token('admin', 'admin');
  const tag = freshTag();
  const shut = await harness.createCoupon({ code: `SHUT-${tag}` });
  const listed = await harness.createCoupon({ code: `LIST-${tag}`, eligibility: { allowList: true } });
  await harness.createCoupon({ code: `GOLD-${tag}`, eligibility: { requiredClaims: { tier: ['gold'] } } });
  const held = await claim(`SHUT-${tag}`, `holder-${tag}`);
  assert.is(held.status, 201, held.text);
  assert.is((await harness.request('POST', `/admin/coupons/${shut}/close`, { token: admin })).status, 200);
  const put = await harness.request('PUT', `/admin/coupons/${listed}/allow-list`, { token: admin, rawBody: `member-${tag}\n`, headers: { 'content-type': 'text/csv' } });
  assert.is(put.status, 200, put.text);

  const stranger = `stranger-${tag}`;
  const codes = [`NONE-${tag}`, `SHUT-${tag}`, `LIST-${tag}`, `GOLD-${tag}`];
  const answers = [...(await Promise.all(codes.map((c) => lookup(c, stranger)))), ...(await Promise.all(codes.map((c) => claim(c, stranger))))];
  misses += answers.length;
  assert.equal(answers.map((a) => a.status), Array(8).fill(404));
  assert.equal(new Set(answers.map((a) => a.text)).size, 1, `one body for all: ${[...new Set(answers.map((a) => a.text))].join(' | ')}`);
  assert.equal(answers[0]!.body.code, 'COUPON_NOT_FOUND');
  const issuance = await harness.request('GET', `/coupons/${listed}/issuance`, { token: await harness.token(stranger) });
  assert.equal(issuance.body, { issued: false }, 'the claims changed nothing');

  assert.is((await lookup(`shut-${tag}`, `holder-${tag}`)).body.id, shut, 'a holder sees the closed coupon they hold');
  const again = await claim(`SHUT-${tag}`, `holder-${tag}`);
  assert.equal([again.status, again.body.code], [409, 'ALREADY_ISSUED']);
  assert.is((await lookup(`LIST-${tag}`, `member-${tag}`)).body.id, listed);
  assert.is((await claim(`LIST-${tag}`, `member-${tag}`)).status, 201);
  assert.is((await lookup(`GOLD-${tag}`, `gilded-${tag}`, { tier: 'gold' })).status, 200);
});

guessing('given one caller sends 1,000 guessed codes at once, then exactly the configured number are looked up and the rest answer 429 with Retry-After; throttled, even a real code answers 429, while another caller is served', async () => {
  const tag = freshTag();
  const couponId = await harness.createCoupon({ code: `OPEN-${tag}` });
  const guesser = `guesser-${tag}`;
  const token = await harness.token(guesser);
  const answers = await Promise.all(Array.from({ length: 1_000 }, (_, i) => harness.request('GET', `/coupons/by-code/G${i}-${tag}`, { token })));
  const byStatus = answers.reduce<Record<number, number>>((n, a) => ({ ...n, [a.status]: (n[a.status] ?? 0) + 1 }), {});
  misses += byStatus[404] ?? 0;
  assert.equal(byStatus, { 404: PER_CALLER, 429: 1_000 - PER_CALLER });
  const throttled = answers.find((a) => a.status === 429)!;
  assert.is(throttled.body.code, 'RATE_LIMITED');
  assert.ok(Number(throttled.headers['retry-after']) > 0, `Retry-After: ${throttled.headers['retry-after']}`);
  assert.is((await lookup(`OPEN-${tag}`, guesser)).status, 429, 'the guesser learns nothing of a real code');
  assert.is((await claim(`OPEN-${tag}`, guesser)).status, 429);
  assert.is((await lookup(`OPEN-${tag}`, `someone-${tag}`)).body.id, couponId, 'another caller is served');
});

guessing('given many callers guessing from one address, then past the address limit every caller there is throttled, one who never guessed too', async () => {
  const tag = freshTag();
  const code = `ADDR-${tag}`;
  await harness.createCoupon({ code });
  // Each caller guesses fewer times than its own limit: only the address's limit can stop them.
  let found = 0;
  for (let guess = 0; guess < PER_ADDRESS; guess++) {
    const answer = await lookup(`NOPE-${guess}-${tag}`, `crowd-${Math.floor(guess / (PER_CALLER - 1))}-${tag}`);
    if (answer.status !== 404) {
      assert.is(answer.status, 429, answer.text);
      break;
    }
    found++;
  }
  assert.ok(misses + found <= PER_ADDRESS, `${misses} + ${found} misses answered from one address, limit ${PER_ADDRESS}`);
  assert.ok(found >= PER_ADDRESS - misses - 20, `the address was throttled after ${found} of its own: other files cannot have missed that often`);
  const fresh = await lookup(code, `newcomer-${tag}`);
  assert.is(fresh.status, 429, fresh.text);
});

guessing.run();
