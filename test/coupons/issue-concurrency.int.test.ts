import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const race = spec('the opening second', async () => (harness = await Harness.start({ relay: true })));

race('4,000 simultaneous requests from 2,000 users for 100 coupons: exactly 100 win, once each, and the log agrees', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 100 });
  const users = Array.from({ length: 2_000 }, (_, i) => `racer-${i}`);
  const tokens = await Promise.all(users.map((u) => harness.token(u)));
  // Every user asks twice; all 4,000 requests are in flight before any answer is read.
  const requests = [...tokens, ...tokens].map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token }));
  const answers = await Promise.all(requests);

  const won = answers.filter((a) => a.status === 201);
  const codes = new Map<string, number>();
  for (const a of answers) if (a.status !== 201) codes.set(String(a.body.code), (codes.get(String(a.body.code)) ?? 0) + 1);
  assert.is(won.length, 100, 'exactly the quantity is issued');
  const winners = new Set(won.map((a) => a.body.userId as string));
  assert.is(winners.size, 100, 'no user won twice');
  assert.equal([...codes.keys()].sort(), ['ALREADY_ISSUED', 'SOLD_OUT'].filter((c) => codes.has(c)).sort(), `only SOLD_OUT or ALREADY_ISSUED: ${JSON.stringify([...codes])}`);
  assert.ok(answers.every((a) => a.status === 201 || a.status === 409));
  const sequences = won.map((a) => Number(String(a.body.issuedCouponId).split('.')[1])).sort((x, y) => x - y);
  assert.equal(sequences, Array.from({ length: 100 }, (_, i) => i + 1), 'issued coupons are numbered 1..100 with no gap');

  await harness.drained(couponId);
  const issued = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssued');
  assert.is(issued.length, 100, 'the log holds exactly 100 CouponIssued');
  assert.equal(new Set(issued.map((e) => (e.data as { userId: string }).userId)), winners, 'the log names the same 100 winners');
  assert.is(new Set(issued.map((e) => e.eventId)).size, 100);

  const coupon = await harness.request('GET', `/coupons/${couponId}`, { token: tokens[0] });
  assert.is(coupon.body.remainingQuantity, 0);
  assert.is(coupon.body.status, 'SOLD_OUT');
});

race.run();
