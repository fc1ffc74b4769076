import * as assert from 'uvu/assert';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness, type Answer } from '../support/api-harness.ts';
import { assertLogRebuildsLiveRows } from '../support/replayed-rows.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const onePer = spec('one coupon per person', async () => (harness = await Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '100000' } })));

const claim = async (couponId: string, user: string, claims?: Record<string, string>): Promise<Answer> =>
  harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user, 'user', undefined, claims) });
const tally = (answers: Answer[]) => answers.reduce<Record<string, number>>((n, a) => {
  const key = `${a.status} ${a.body.code ?? ''}`.trim();
  return { ...n, [key]: (n[key] ?? 0) + 1 };
}, {});

onePer('given a coupon one per phone_hash, when 5 accounts of one person send 50 claims at once, then exactly one coupon is issued: ALREADY_ISSUED to its account, PERSON_ALREADY_ISSUED to the other four; another person gets theirs', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, onePer: { claim: 'phone_hash' } });
  const phone = { phone_hash: `ph-${couponId.slice(-8)}` };
  const accounts = Array.from({ length: 5 }, (_, i) => `account-${i}-${couponId.slice(-6)}`);
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => claim(couponId, accounts[i % 5]!, phone)));
  const won = answers.filter((a) => a.status === 201);
  assert.is(won.length, 1, JSON.stringify(tally(answers)));
  const winner = String(won[0]!.body.userId);
  assert.equal(tally(answers), { 201: 1, '409 ALREADY_ISSUED': 9, '409 PERSON_ALREADY_ISSUED': 40 });
  assert.ok(answers.filter((a) => a.body.code === 'PERSON_ALREADY_ISSUED').every((a) => a.body.issuedCouponId === undefined), 'another account learns no coupon id');
  assert.is((await claim(couponId, `someone-${couponId.slice(-6)}`, { phone_hash: 'another-person' })).status, 201);
  await harness.drained(couponId);
  const issued = (await harness.eventsOf(couponId)).flatMap((e) => (e.type === 'CouponIssued' ? [e.data] : []));
  assert.equal(issued.map((d) => [d.userId, d.person]), [[winner, phone.phone_hash], [`someone-${couponId.slice(-6)}`, 'another-person']]);
  const view = await harness.request('GET', `/coupons/${couponId}`, { token: await harness.token('viewer') });
  assert.equal(view.body.onePer, { claim: 'phone_hash' }, 'a client can say a person claim is needed');
});

onePer('given a coupon one per phone_hash, when a token without the claim asks, then 403 IDENTITY_REQUIRED and nothing changes in Redis or the log', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, onePer: { claim: 'phone_hash' } });
  const keys = couponKeys(couponId, harness.runtime.config.admission.shards);
  const before = await harness.runtime.redis.hgetall(keys.coupon);
  const variants: (Record<string, string> | undefined)[] = [undefined, { phone_hash: '' }, { tier: 'gold' }];
  for (const claims of variants) {
    const answer = await claim(couponId, `nameless-${couponId.slice(-6)}`, claims);
    assert.equal([answer.status, answer.body.code], [403, 'IDENTITY_REQUIRED'], JSON.stringify(claims));
  }
  assert.equal(await harness.runtime.redis.hgetall(keys.coupon), before);
  assert.is(await harness.runtime.redis.hlen(keys.holders), 0);
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated']);
});

onePer('given a person holds the coupon, when Redis loses the coupon and it is restored from the log, then another account of that person is still refused and the audit passes', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, onePer: { claim: 'phone_hash' } });
  const phone = { phone_hash: `kept-${couponId.slice(-8)}` };
  assert.is((await claim(couponId, `first-${couponId.slice(-6)}`, phone)).status, 201);
  await harness.drained(couponId);
  await harness.projected();
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, k.persons);
  const again = await claim(couponId, `second-${couponId.slice(-6)}`, phone);
  assert.equal([again.status, again.body.code], [409, 'PERSON_ALREADY_ISSUED'], again.text);
  assert.is((await claim(couponId, `third-${couponId.slice(-6)}`, { phone_hash: `new-${couponId.slice(-8)}` })).status, 201);
  await harness.drained(couponId);
  await harness.projected();
  await assertLogRebuildsLiveRows(harness, couponId);
});

onePer('a person claim that eligibility cannot match, one on a coupon split into stock buckets, or a human check on a platform without a verifier, is refused at create with 400', async () => {
  const admin = await harness.token('admin', 'admin');
  for (const body of [{ onePer: { claim: 'sub' } }, { onePer: { claim: '' } }, { onePer: { claim: 'phone_hash' }, buckets: 2 }, { onePer: {} }, { humanCheck: true }]) {
    const refused = await harness.request('POST', '/admin/coupons', {
      token: admin,
      body: { name: 'x', totalQuantity: 5, discount: { type: 'PERCENT', value: 5 }, issueStartAt: '2026-01-01T00:00:00Z', issueEndAt: '2027-01-01T00:00:00Z', validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-06-01T00:00:00Z', ...body },
    });
    assert.is(refused.status, 400, JSON.stringify(body));
  }
});

onePer.run();
