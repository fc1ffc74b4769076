import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
let admin!: string;
const queries = spec('queries answered from the read models and the log', async () => {
  harness = await Harness.start({ relay: true, projector: true });
  admin = await harness.token('admin-q', 'admin');
  return harness;
});

queries('my coupons: newest first, filtered by status, paged by cursor; EXPIRED is ISSUED past validity', async () => {
  const dana = await harness.token('dana');
  const kept = await harness.createCoupon({ name: 'Kept' });
  const spent = await harness.createCoupon({ name: 'Spent' });
  const brief = await harness.createCoupon({ name: 'Brief', issueEndAt: new Date(Date.now() + 1_000).toISOString(), validUntil: new Date(Date.now() + 1_000).toISOString() });
  const ids: Record<string, string> = {};
  for (const [name, id] of [['kept', kept], ['spent', spent], ['brief', brief]] as const) {
    ids[name] = String((await harness.request('POST', `/coupons/${id}/issue`, { token: dana })).body.issuedCouponId);
  }
  await harness.request('POST', `/issued-coupons/${ids.spent}/use`, { token: dana, body: { orderId: 'o-1' } });
  await sleep(1_100);
  await harness.drained(kept);
  await harness.projected();

  const all = await harness.request<{ items: Record<string, unknown>[]; nextCursor: string | null }>('GET', '/me/coupons', { token: dana });
  assert.is(all.status, 200);
  assert.equal(all.body.items.map((i) => [i.name, i.status]), [['Brief', 'EXPIRED'], ['Spent', 'USED'], ['Kept', 'ISSUED']]);
  assert.is(all.body.nextCursor, null);
  for (const [status, name] of [['ISSUED', 'Kept'], ['USED', 'Spent'], ['EXPIRED', 'Brief']]) {
    const filtered = await harness.request<{ items: { name: string }[] }>('GET', `/me/coupons?status=${status}`, { token: dana });
    assert.equal(filtered.body.items.map((i) => i.name), [name], status);
  }
  const first = await harness.request<{ items: { name: string }[]; nextCursor: string }>('GET', '/me/coupons?limit=2', { token: dana });
  const second = await harness.request<{ items: { name: string }[]; nextCursor: null }>('GET', `/me/coupons?limit=2&cursor=${first.body.nextCursor}`, { token: dana });
  assert.equal([...first.body.items, ...second.body.items].map((i) => i.name), ['Brief', 'Spent', 'Kept']);
  assert.is(second.body.nextCursor, null);
  const bad = await harness.request('GET', '/me/coupons?status=LOST&limit=0', { token: dana });
  assert.is(bad.status, 400);
  assert.equal((bad.body.errors as { path: string }[]).map((e) => e.path).sort(), ['limit', 'status']);
});

queries('admin: coupons with issued and used counts, one coupon, and the projections\' lag', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5 });
  const tokens = await Promise.all(['x1', 'x2', 'x3'].map((u) => harness.token(u)));
  const issued = await Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
  await harness.request('POST', `/issued-coupons/${issued[0]!.body.issuedCouponId}/use`, { token: tokens[0] });
  await harness.drained(couponId);
  await harness.projected();

  const one = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.equal([one.body.issuedCount, one.body.usedCount, one.body.remainingQuantity, one.body.status], [3, 1, 2, 'OPEN']);
  const list = await harness.request<{ items: { id: string; issuedCount: number }[] }>('GET', '/admin/coupons?limit=100', { token: admin });
  assert.is(list.body.items.find((c) => c.id === couponId)?.issuedCount, 3);
  assert.is(list.body.items[0]!.id, couponId, 'newest first');
  const projections = await harness.request<{ items: { name: string; lag: number; status: string }[] }>('GET', '/admin/projections', { token: admin });
  assert.equal(projections.body.items.slice(0, 3).map((p) => [p.name, p.lag, p.status]),
    [['coupon', 0, 'up-to-date'], ['issued_coupon', 0, 'up-to-date'], ['coupon_history', 0, 'up-to-date']]);
  assert.is(projections.body.items[3]!.name, 'notification', 'the notifier\'s projection is listed too');
  const user = await harness.token('x1');
  assert.is((await harness.request('GET', '/admin/projections', { token: user })).status, 403);
});

queries('a coupon\'s events come from the log, oldest first, paged by offset', async () => {
  const couponId = await harness.createCoupon();
  for (const u of ['e1', 'e2', 'e3']) await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(u) });
  await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin });
  await harness.drained(couponId);

  const page1 = await harness.request<{ items: { type: string; offset: number }[]; nextOffset: number | null }>('GET', `/admin/coupons/${couponId}/events?limit=2`, { token: admin });
  assert.is(page1.status, 200);
  const pages = [...page1.body.items];
  let next = page1.body.nextOffset;
  while (next !== null) {
    const more = await harness.request<{ items: { type: string; offset: number }[]; nextOffset: number | null }>('GET', `/admin/coupons/${couponId}/events?limit=2&fromOffset=${next}`, { token: admin });
    pages.push(...more.body.items);
    next = more.body.nextOffset;
  }
  assert.equal(pages.map((e) => e.type), ['CouponCreated', 'CouponIssued', 'CouponIssued', 'CouponIssued', 'CouponIssuanceClosed']);
  assert.ok(pages.every((e, i) => i === 0 || e.offset > pages[i - 1]!.offset), 'offsets increase');
  assert.is((await harness.request('GET', '/admin/coupons/01937a4e-0000-7000-8000-000000000000/events', { token: admin })).status, 404);
});

queries.run();
