import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spawnApp, type AppProcess } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { HeadlessPage } from '../support/headless-chromium.ts';
import { freePort } from '../support/free-port.ts';
import { spec } from '../support/spec.ts';

const ARTIFACTS = fileURLToPath(new URL('../../.test-artifacts/', import.meta.url));

const dashboard = spec('the live dashboard in a browser', () => Harness.start({ relay: true, projector: true }));


/** What the page shows for one coupon, read from its DOM. */
const rowOf = (page: HeadlessPage, couponId: string) => page.evaluate<{ issued?: string; remaining?: string; connection: string; outcomes: string }>(`(() => {
  const row = document.querySelector('[data-coupon="${couponId}"]');
  return { issued: row?.querySelector('.issued')?.textContent, remaining: row?.querySelector('.remaining')?.textContent,
    connection: document.getElementById('connection').textContent, outcomes: document.getElementById('outcomes').textContent };
})()`);

dashboard('given an admin signed in, when 2,000 users ask for a coupon of 100 at once, then the page shows 100 issued and 0 remaining as it happens, and keeps going when the API behind it restarts', async (harness) => {
  const couponId = await harness.createCoupon({ name: 'Opening second', totalQuantity: 100, code: 'OPENING-100' });
  await harness.drained(couponId);
  await harness.projected();
  // The API the browser talks to is a process of its own, on a port it keeps across a restart.
  const port = await freePort();
  const startApi = () => spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn', PORT: String(port) });
  let api: AppProcess = await startApi();
  const page = await HeadlessPage.open();
  try {
    await page.goto(`${api.url}/admin/dashboard`);
    const admin = await harness.token('dashboard-admin', 'admin');
    await page.evaluate(`document.getElementById('token').value = ${JSON.stringify(admin)}; document.getElementById('sign-in').click()`);
    await eventually('the page to show the coupon, live', () => rowOf(page, couponId), (r) => r.connection === 'live' && r.issued === '0', { timeoutMs: 15_000, everyMs: 200 });

    const tokens = await Promise.all(Array.from({ length: 2_000 }, (_, i) => harness.token(`opening-${i}`)));
    const answers = await Promise.all(tokens.map((token) => fetch(`${api.url}/coupons/${couponId}/issue`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
      .then((res) => res.status)));
    assert.is(answers.filter((s) => s === 201).length, 100);
    const shown = await eventually('the page to show the coupon sold out', () => rowOf(page, couponId), (r) => r.issued === '100' && r.remaining === '0' && /SOLD_OUT 1900/.test(r.outcomes),
      { timeoutMs: 15_000, everyMs: 200 });
    assert.match(shown.outcomes, /ISSUED 100/);
    assert.ok(/SOLD_OUT 1900/.test(shown.outcomes), `outcomes shown: ${shown.outcomes}; answers: ${JSON.stringify(answers.reduce<Record<number, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {}))}`);
    assert.is(await page.evaluate<string>(`document.querySelector('[data-coupon="${couponId}"] .code').textContent`), 'OPENING-100');
    assert.ok(await page.evaluate<boolean>("document.querySelector('#chart canvas') !== null"), 'the chart is drawn');
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(`${ARTIFACTS}dashboard.png`, await page.screenshot());
    process.stdout.write(`screenshot: ${ARTIFACTS}dashboard.png\n`);

    api.child.kill('SIGKILL');
    await api.exited;
    await eventually('the page to say the API is away', () => rowOf(page, couponId), (r) => r.connection.startsWith('reconnecting'), { timeoutMs: 10_000, everyMs: 100 });
    api = await startApi();
    const back = await eventually('the page to be live again on the restarted API', () => rowOf(page, couponId),
      (r) => r.connection === 'live' && r.issued === '100', { timeoutMs: 20_000, everyMs: 200 });
    assert.is(back.remaining, '0');
  } finally {
    await page.close();
    await api.stop();
  }
});

dashboard('given a user token, then the page gets no data and says why; the stream itself answers 401 without a token and 403 to a user', async (harness) => {
  const page = await HeadlessPage.open();
  try {
    await page.goto(`${harness.api.url}/admin/dashboard`);
    const user = await harness.token('not-an-admin');
    await page.evaluate(`document.getElementById('token').value = ${JSON.stringify(user)}; document.getElementById('sign-in').click()`);
    const seen = await eventually('the page to refuse the user', () => page.evaluate<{ connection: string; boardHidden: boolean; rows: number }>(`({
      connection: document.getElementById('connection').textContent, boardHidden: document.getElementById('board').hidden,
      rows: document.querySelectorAll('[data-coupon]').length })`), (s) => s.connection.startsWith('not allowed'), { timeoutMs: 10_000, everyMs: 100 });
    assert.equal(seen, { connection: 'not allowed: FORBIDDEN', boardHidden: true, rows: 0 });
  } finally {
    await page.close();
  }
  assert.is((await harness.request('GET', '/admin/dashboard/events')).status, 401);
  const asUser = await harness.request('GET', '/admin/dashboard/events', { token: await harness.token('not-an-admin') });
  assert.is(asUser.status, 403);
  assert.is(asUser.body.code, 'FORBIDDEN');
});

dashboard.run();
