import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
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

expiry('the job run three times at once still gives one notice each', async () => {
  const held = await Promise.all(['hank', 'ivy', 'jack'].map((u) => holdCoupon(u, 3)));
  await harness.projected();
  const runs = await Promise.all([1, 2, 3].map(() => harness.request('POST', '/admin/jobs/expiry-notices', { token: admin })));
  assert.equal(runs.map((r) => r.status), [200, 200, 200]);
  assert.is(runs.reduce((n, r) => n + Number(r.body.notified), 0), 3, 'three notices between the three runs, not nine');
  for (const [i, user] of ['hank', 'ivy', 'jack'].entries()) {
    assert.equal((await noticesFor(user)).map((n) => n.issuedCouponId), [held[i]], `${user} has exactly one`);
  }
});

/** The `expiry scan` lines a notifier process logged: what each of its scans found and notified. */
const scansIn = (output: string) =>
  output.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; scanned?: number; notified?: number };
      return entry.msg === 'expiry scan' ? [{ scanned: entry.scanned!, notified: entry.notified! }] : [];
    } catch {
      return [];
    }
  });

expiry('two notifier processes scanning every second both scan, and between them notify each coupon once', async () => {
  const held = await Promise.all(['kate', 'liam', 'mona'].map((u) => holdCoupon(u, 3)));
  await harness.projected();
  const env = { ROLES: 'notifier', NOTIFIER_CRON: '* * * * * *', LOG_LEVEL: 'info' };
  const notifiers = await Promise.all([spawnApp(env), spawnApp(env)]);
  try {
    // Each has scanned at least twice, so each ran at least one whole scan with the coupons in the read model.
    await eventually('both notifiers to log two scans', () => notifiers.map((n) => scansIn(n.output()).length), (counts) => counts.every((c) => c >= 2),
      { timeoutMs: 30_000, everyMs: 200 });
  } finally {
    for (const n of notifiers) n.child.kill('SIGTERM');
    await Promise.all(notifiers.map((n) => n.exited));
  }
  const notified = notifiers.flatMap((n) => scansIn(n.output())).reduce((sum, scan) => sum + scan.notified, 0);
  assert.is(notified, 3, 'the two notifiers notified three coupons between them, none twice');
  for (const [i, user] of ['kate', 'liam', 'mona'].entries()) {
    assert.equal((await noticesFor(user)).map((n) => n.issuedCouponId), [held[i]], `${user} has exactly one`);
  }
});

expiry.run();
