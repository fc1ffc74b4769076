import * as assert from 'uvu/assert';
import { AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { logAndStores } from '../../src/runtime/runtime.ts';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

const codes = spec('coupon codes', () => Harness.start({ relay: true, env: { USER_LIMIT: '100000' } }));

const GENERATED = /^[23456789ABCDEFGHJKMNPQRSTWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTWXYZ]{4}$/;

/** The same `now` gives the same body, byte for byte: what a client's retry sends. */
async function create(harness: Harness, body: Record<string, unknown>, headers: Record<string, string> = {}, now = Date.now()) {
  return harness.request('POST', '/admin/coupons', {
    token: await harness.token('admin', 'admin'), headers,
    body: {
      name: 'Coded', totalQuantity: 100, discount: { type: 'PERCENT', value: 10 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(), ...body,
    },
  });
}

codes('given an admin names a code, when users look it up in any case, then it answers as the id route does; the code is in CouponCreated; a second coupon cannot take it', async (harness) => {
  const created = await create(harness, { code: 'summer-25' });
  assert.is(created.status, 201, created.text);
  assert.is(created.body.code, 'SUMMER-25', 'kept in capitals');
  const couponId = created.body.id as string;
  const user = await harness.token('code-reader');
  const byId = await harness.request('GET', `/coupons/${couponId}`, { token: user });
  for (const spelled of ['SUMMER-25', 'summer-25', 'Summer-25']) {
    const byCode = await harness.request('GET', `/coupons/by-code/${spelled}`, { token: user });
    assert.is(byCode.status, 200, byCode.text);
    assert.equal(byCode.body, byId.body);
  }

  const taken = await create(harness, { code: 'SUMMER-25', name: 'Impostor' });
  assert.is(taken.status, 409, taken.text);
  assert.is(taken.body.code, 'COUPON_CODE_TAKEN');
  await harness.drained(couponId);
  const createdEvents = (await harness.allEvents()).filter((e) => e.type === 'CouponCreated' && (e.data as { code?: string }).code === 'SUMMER-25');
  assert.equal(createdEvents.map((e) => [e.couponId, (e.data as { name: string }).name]), [[couponId, 'Coded']], 'the refused create left no coupon behind');
});

codes('given no code, when a coupon is created (and the create retried with its Idempotency-Key), then it gets one generated code of unambiguous characters', async (harness) => {
  const now = Date.now();
  const first = await create(harness, {}, { 'Idempotency-Key': 'coded-create-1' }, now);
  const retried = await create(harness, {}, { 'Idempotency-Key': 'coded-create-1' }, now);
  assert.is(first.status, 201);
  assert.match(first.body.code as string, GENERATED);
  assert.equal([retried.body.id, retried.body.code], [first.body.id, first.body.code], 'the retry names the same coupon and code');
  const other = await create(harness, {});
  assert.is.not(other.body.code, first.body.code);
  const found = await harness.request('GET', `/coupons/by-code/${(first.body.code as string).toLowerCase()}`, { token: await harness.token('u') });
  assert.is(found.body.id, first.body.id);
});

codes('given malformed or unknown codes, then 400 naming the field, or 404', async (harness) => {
  for (const code of ['ab', 'has space', '-lead', 'trail-', 'x'.repeat(33), 'snow☃']) {
    const answer = await create(harness, { code });
    assert.is(answer.status, 400, `${code}: ${answer.text}`);
    assert.is(answer.body.code, 'VALIDATION_FAILED');
    assert.ok(JSON.stringify(answer.body.errors).includes('code'), answer.text);
  }
  const user = await harness.token('u');
  const malformed = await harness.request('GET', '/coupons/by-code/no_such_thing', { token: user });
  assert.is(malformed.status, 400, malformed.text);
  const unknown = await harness.request('POST', '/coupons/by-code/NOPE-NOPE-NOPE/issue', { token: user });
  assert.is(unknown.status, 404, unknown.text);
  assert.is(unknown.body.code, 'COUPON_NOT_FOUND');
});

codes('given a coupon of 100, when 4,000 users ask for it by its code at once, then exactly 100 are issued, the rest SOLD_OUT, and the log holds 100 CouponIssued for 100 users', async (harness) => {
  const created = await create(harness, { code: 'FLASH-100' });
  const couponId = created.body.id as string;
  const tokens = await Promise.all(Array.from({ length: 4_000 }, (_, i) => harness.token(`flash-${i}`)));
  const answers = await Promise.all(tokens.map((token) => harness.request('POST', '/coupons/by-code/flash-100/issue', { token })));
  const counts = answers.reduce<Record<string, number>>((n, a) => ({ ...n, [`${a.status} ${a.body.code ?? ''}`.trim()]: (n[`${a.status} ${a.body.code ?? ''}`.trim()] ?? 0) + 1 }), {});
  assert.equal(counts, { 201: 100, '409 SOLD_OUT': 3_900 });
  assert.ok(answers.filter((a) => a.status === 201).every((a) => a.body.couponId === couponId), 'the same answer as the id route: the coupon id');
  await harness.drained(couponId, 60_000);
  const issued = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued');
  assert.is(new Map(issued.map((e) => [e.eventId, e])).size, 100);
  assert.is(new Set(issued.map((e) => (e.data as { userId: string }).userId)).size, 100);
});

codes('given Redis lost everything, when admission state is restored from the log, then codes name their coupons again', async (harness) => {
  const created = await create(harness, { code: 'COMEBACK' });
  await harness.drained(created.body.id as string);
  await harness.stopRelay();
  await harness.runtime.redis.flushdb();
  const user = await harness.token('u');
  assert.is((await harness.request('GET', '/coupons/by-code/COMEBACK', { token: user })).status, 404, 'the index went with Redis');
  await new AdmissionRecovery(logAndStores(harness.runtime)).restore();
  const back = await harness.request('GET', '/coupons/by-code/comeback', { token: user });
  assert.is(back.status, 200, back.text);
  assert.is(back.body.id, created.body.id);
});

codes('given a code resolved once, then the API resolves it again without Redis (codes never move): even with its key gone', async (harness) => {
  const couponId = await harness.createCoupon({ code: 'ONCE-ASKED' });
  const token = await harness.token('asker');
  assert.is((await harness.request('GET', '/coupons/by-code/once-asked', { token })).body.id, couponId);
  assert.is(await harness.runtime.redis.del('code:{ONCE-ASKED}'), 1, 'the code is gone from Redis');
  assert.is((await harness.request('GET', '/coupons/by-code/ONCE-ASKED', { token })).body.id, couponId);
  assert.is((await harness.request('GET', '/coupons/by-code/NEVER-ASKED', { token })).status, 404, 'an unknown code is asked of Redis every time');
});

codes.run();
