import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
let admin!: string;
const expiry = spec('COUPON_EXPIRING notices', async () => {
  harness = await Harness.start({ relay: true, projector: true });
  admin = await harness.token('admin-exp', 'admin');
  return harness;
});

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

/** A coupon ending in 3 days with `holders` holders: enough due coupons that two scans of them overlap. */
async function manyHolders(prefix: string, holders: number): Promise<string> {
  const couponId = await harness.createCoupon({ name: 'Crowded', totalQuantity: holders, ...ending(3) });
  assert.is(await issueMany(harness, couponId, Array.from({ length: holders }, (_, i) => `${prefix}-${i}`)), holders);
  await harness.drained(couponId);
  await harness.projected();
  return couponId;
}

/** COUPON_EXPIRING rows of a coupon, and how many issued coupons they are for. */
async function expiringNotices(couponId: string): Promise<{ rows: number; coupons: number }> {
  const rows = await harness.runtime.db.selectFrom('notification').select('issued_coupon_id')
    .where('type', '=', 'COUPON_EXPIRING').where('coupon_id', '=', couponId).execute();
  return { rows: rows.length, coupons: new Set(rows.map((r) => r.issued_coupon_id)).size };
}

expiry('the job run three times at once over 2,000 due coupons gives one notice each', async () => {
  const couponId = await manyHolders('trio', 2_000);
  const runs = await Promise.all([1, 2, 3].map(() => harness.request('POST', '/admin/jobs/expiry-notices', { token: admin })));
  assert.equal(runs.map((r) => r.status), [200, 200, 200], JSON.stringify(runs.map((r) => r.body)));
  assert.is(runs.reduce((n, r) => n + Number(r.body.notified), 0), 2_000, 'the three runs notified 2,000 between them');
  assert.equal(await expiringNotices(couponId), { rows: 2_000, coupons: 2_000 });
});

/** When each `expiry scan` line of a notifier process was logged, with what that scan found and notified. */
const scansIn = (output: string) =>
  output.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; time?: string; scanned?: number; notified?: number };
      return entry.msg === 'expiry scan' ? [{ at: Date.parse(entry.time!), scanned: entry.scanned!, notified: entry.notified! }] : [];
    } catch {
      return [];
    }
  });

expiry('two notifier processes scanning every second both scan 2,000 newly due coupons, and between them notify each once', async () => {
  const env = { ROLES: 'notifier', NOTIFIER_CRON: '* * * * * *', LOG_LEVEL: 'info' };
  const notifiers = await Promise.all([spawnApp(env), spawnApp(env)]);
  try {
    await eventually('both notifiers to be scanning', () => notifiers.map((n) => scansIn(n.output()).length), (counts) => counts.every((c) => c >= 1),
      { timeoutMs: 30_000, everyMs: 100 });
    // The coupons become due while both scan every second, so both meet them at the same second boundary.
    const couponId = await manyHolders('duo', 2_000);
    const dueSince = Date.now();
    const after = (n: { output(): string }) => scansIn(n.output()).filter((s) => s.at > dueSince);
    // Two scans each after that: the second began after the first ended, so each ran a whole scan over them.
    await eventually('both notifiers to log two scans after the coupons were due', () => notifiers.map((n) => after(n).length), (c) => c.every((x) => x >= 2),
      { timeoutMs: 30_000, everyMs: 200 });
    // Every notice they made is one of these: the coupons due before were notified by the earlier tests.
    const scans = notifiers.map((n) => scansIn(n.output()));
    assert.is(scans.flat().reduce((sum, scan) => sum + scan.notified, 0), 2_000, `notified between them: ${JSON.stringify(scans)}`);
    assert.equal(await expiringNotices(couponId), { rows: 2_000, coupons: 2_000 });
  } finally {
    await Promise.all(notifiers.map((n) => n.stop()));
  }
});

expiry.run();
