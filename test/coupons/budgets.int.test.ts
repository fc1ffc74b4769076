import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const budgets = spec('money: budgets, caps and currencies', async () => (harness = await Harness.start({ relay: true, projector: true })));

/** A coupon with `money`, issued to `users`; their issued coupon ids. */
async function issued(money: Record<string, unknown>, users: string[], totalQuantity = users.length): Promise<{ couponId: string; ids: string[] }> {
  const couponId = await harness.createCoupon({ totalQuantity, ...money });
  const ids = await Promise.all(users.map(async (user) => {
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
    assert.is(answer.status, 201, answer.text);
    return answer.body.issuedCouponId as string;
  }));
  return { couponId, ids };
}

budgets('500 concurrent uses of 7.00 EUR against a 1,000.00 EUR budget: exactly 142 granted, the rest 409 BUDGET_EXHAUSTED, never more than the budget', async () => {
  const users = Array.from({ length: 500 }, (_, i) => `spender-${i}`);
  const { couponId, ids } = await issued({ discount: { type: 'AMOUNT', value: 7 }, currency: 'EUR', budget: { amount: 1_000 } }, users);
  // The order system names each order's total for its holder.
  const orders = await harness.token('orders', 'service');
  const answers = await Promise.all(ids.map(async (id, i) => harness.request('POST', `/issued-coupons/${id}/use`, {
    token: orders, body: { orderId: `order-${i}`, orderTotal: 30, currency: 'EUR', userId: users[i] },
  })));
  const granted = answers.filter((a) => a.status === 200);
  assert.is(granted.length, 142);
  assert.equal([...new Set(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body.code}`))], ['409 BUDGET_EXHAUSTED']);
  assert.is(granted.reduce((sum, a) => sum + Math.round(Number(a.body.discountGranted) * 100), 0), 99_400);
  assert.ok(granted.every((a) => a.body.currency === 'EUR' && a.body.discountGranted === 7));
  await harness.drained(couponId);
  await harness.projected();
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: await harness.token('admin', 'admin') });
  assert.equal(view.body.money, { currency: 'EUR', maxDiscountPerOrder: null, budget: { amount: 1_000, spent: 994, left: 6 } });

  // A cancelled use gives its 7.00 back: one more use fits, and the next does not.
  const service = await harness.token('orders', 'service');
  assert.is((await harness.request('POST', `/issued-coupons/${ids[answers.indexOf(granted[0]!)]}/cancel-use`, { token: service, body: { orderId: `order-${answers.indexOf(granted[0]!)}` } })).status, 200);
  const refused = ids.filter((_, i) => answers[i]!.status !== 200);
  const [again, beyond] = [await harness.request('POST', `/issued-coupons/${refused[0]}/use`, { token: service, body: { userId: users[ids.indexOf(refused[0]!)], orderTotal: 30, currency: 'EUR' } }),
    await harness.request('POST', `/issued-coupons/${refused[1]}/use`, { token: service, body: { userId: users[ids.indexOf(refused[1]!)], orderTotal: 30, currency: 'EUR' } })];
  assert.equal([again.status, beyond.status, beyond.body.code], [200, 409, 'BUDGET_EXHAUSTED']);

  await harness.drained(couponId);
  await harness.projected();
  const events = await harness.eventsOf(couponId);
  const used = events.filter((e) => e.type === 'CouponUsed');
  assert.is(used.length, 143);
  assert.ok(used.every((e) => e.type === 'CouponUsed' && e.data.discountMinor === 700 && e.data.currency === 'EUR'));
  const row = await harness.runtime.db.selectFrom('coupon').select(['budget_spent_minor', 'budget_revision']).where('id', '=', couponId).executeTakeFirstOrThrow();
  assert.equal([Number(row.budget_spent_minor), row.budget_revision], [99_400, 144]);
  const list = await harness.request<{ items: { id: string; money: unknown }[] }>('GET', '/admin/coupons?limit=100', { token: await harness.token('admin', 'admin') });
  assert.equal(list.body.items.find((c) => c.id === couponId)?.money, { currency: 'EUR', maxDiscountPerOrder: null, budget: { amount: 1_000, spent: 994, left: 6 } });
  assert.ok(auditPassed(await harness.audit(couponId)));
});

budgets('a percentage is capped per order and rounded down to the cent; a wrong currency, a missing total, a total with too many digits is 400, a holder naming a total 403, and nothing changes', async () => {
  const { couponId, ids } = await issued({ discount: { type: 'PERCENT', value: 15 }, currency: 'EUR', maxDiscountPerOrder: 5 }, ['pia', 'raf']);
  const orders = await harness.token('orders', 'service');
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  const before = JSON.stringify(await harness.runtime.redis.hgetall(k.used));
  const asked = (body: Record<string, unknown>, token = orders) => harness.request('POST', `/issued-coupons/${ids[0]}/use`, { token, body: { userId: 'pia', ...body } });
  const wrong = await Promise.all([
    asked({ orderTotal: 10, currency: 'USD' }), asked({ orderId: 'o' }), asked({ orderTotal: 10.005, currency: 'EUR' }), asked({ orderTotal: 10, currency: 'XYZ' }),
    asked({ orderTotal: 10 }),
    // A holder naming their own order's total: the budget would be theirs to draw down.
    harness.request('POST', `/issued-coupons/${ids[0]}/use`, { token: await harness.token('pia'), body: { orderTotal: 10, currency: 'EUR' } }),
  ]);
  assert.equal(wrong.map((a) => `${a.status} ${a.body.code}`), ['400 CURRENCY_MISMATCH', '400 VALIDATION_FAILED', '400 VALIDATION_FAILED', '400 VALIDATION_FAILED', '400 VALIDATION_FAILED', '403 FORBIDDEN']);
  assert.is(JSON.stringify(await harness.runtime.redis.hgetall(k.used)), before);
  const small = await asked({ orderTotal: 9.99, currency: 'EUR' });
  const large = await harness.request('POST', `/issued-coupons/${ids[1]}/use`, { token: orders, body: { userId: 'raf', orderTotal: 100, currency: 'EUR' } });
  // No budget: a cancellation gives nothing back to one, and the use comes back whole (the log's event is valid).
  assert.is((await harness.request('POST', `/issued-coupons/${ids[1]}/cancel-use`, { token: orders, body: {} })).status, 200);
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type).slice(-1), ['CouponUseCancelled']);
  assert.equal([small.body.discountGranted, large.body.discountGranted], [1.49, 5]);
});

budgets('create refuses money it cannot keep: an unknown currency, a budget without one, a cap on a fixed amount, cents in yen, a budget split into buckets', async () => {
  const admin = await harness.token('admin', 'admin');
  const now = Date.now();
  const base = {
    name: 'm', totalQuantity: 10, issueStartAt: new Date(now).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
    validFrom: new Date(now).toISOString(), validUntil: new Date(now + 7_200_000).toISOString(),
  };
  const bodies = [
    { ...base, discount: { type: 'PERCENT', value: 10 }, currency: 'ABC' },
    { ...base, discount: { type: 'PERCENT', value: 10 }, budget: { amount: 100 } },
    { ...base, discount: { type: 'AMOUNT', value: 5 }, currency: 'EUR', maxDiscountPerOrder: 3 },
    { ...base, discount: { type: 'AMOUNT', value: 5.5 }, currency: 'JPY' },
    { ...base, discount: { type: 'PERCENT', value: 10 }, currency: 'EUR', budget: { amount: 100 }, buckets: 2 },
  ];
  const answers = await Promise.all(bodies.map((body) => harness.request('POST', '/admin/coupons', { token: admin, body })));
  assert.equal(answers.map((a) => [a.status, (a.body.errors as { path: string }[] | undefined)?.[0]?.path]),
    [[400, 'currency'], [400, 'currency'], [400, 'maxDiscountPerOrder'], [400, 'discount'], [400, 'currency']]);
});

budgets.run();
