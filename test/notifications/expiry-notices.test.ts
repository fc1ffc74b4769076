import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';

const harness = await Harness.start({ relay: true, projector: true });
const admin = await harness.token('admin-exp', 'admin');
const expiry = suite('COUPON_EXPIRING notices');
expiry.after(() => harness.close());

const DAY = 86_400_000;
const ending = (days: number) => ({ issueEndAt: new Date(Date.now() + DAY).toISOString(), validUntil: new Date(Date.now() + days * DAY).toISOString() });

async function holdCoupon(user: string, days: number, use = false): Promise<string> {
  const couponId = await harness.createCoupon({ name: `Ends in ${days} days`, ...ending(days) });
  const token = await harness.token(user);
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  if (use) await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token });
  await harness.drained(couponId);
  return String(body.issuedCouponId);
}

const noticesFor = async (user: string) =>
  (await harness.request<{ items: { type: string; issuedCouponId: string; validUntil?: string; couponName: string }[] }>('GET', '/me/notifications', { token: await harness.token(user) })).body.items
    .filter((n) => n.type === 'COUPON_EXPIRING');

expiry('ending in 6 days: one notice; in 8 days: none; used: none', async () => {
  const six = await holdCoupon('grace', 6);
  await holdCoupon('grace', 8);
  await holdCoupon('grace', 5, true);
  await harness.projected();
  const run = await harness.request('POST', '/admin/jobs/expiry-notices', { token: admin });
  assert.is(run.status, 200);
  assert.ok(Number(run.body.notified) >= 1);
  const notices = await noticesFor('grace');
  assert.equal(notices.map((n) => n.issuedCouponId), [six]);
  assert.is(notices[0]!.couponName, 'Ends in 6 days');
  assert.ok(notices[0]!.validUntil);
  assert.is((await harness.request('POST', '/admin/jobs/expiry-notices', { token: await harness.token('grace') })).status, 403);
});

expiry('the job three times and two notifier processes scanning at once still give one notice each', async () => {
  const held = await Promise.all(['hank', 'ivy', 'jack'].map((u) => holdCoupon(u, 3)));
  await harness.projected();
  const env = { ROLES: 'notifier', NOTIFIER_CRON: '* * * * * *', LOG_LEVEL: 'warn' };
  const notifiers = await Promise.all([spawnApp(env), spawnApp(env)]);
  try {
    const runs = await Promise.all([1, 2, 3].map(() => harness.request('POST', '/admin/jobs/expiry-notices', { token: admin })));
    assert.ok(runs.every((r) => r.status === 200));
    await sleep(2_500);
  } finally {
    for (const n of notifiers) n.child.kill('SIGTERM');
    await Promise.all(notifiers.map((n) => n.exited));
  }
  for (const [i, user] of ['hank', 'ivy', 'jack'].entries()) {
    assert.equal((await noticesFor(user)).map((n) => n.issuedCouponId), [held[i]], `${user} has exactly one`);
  }
  const rows = await harness.runtime.db.selectFrom('notification').select('issued_coupon_id').where('type', '=', 'COUPON_EXPIRING').where('issued_coupon_id', 'in', held).execute();
  assert.is(rows.length, 3);
});

expiry.run();
