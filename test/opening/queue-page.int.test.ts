import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { HeadlessPage } from '../support/headless-chromium.ts';
import { spec } from '../support/spec.ts';

const ARTIFACTS = fileURLToPath(new URL('../../.test-artifacts/', import.meta.url));

const page = spec('the waiting room\'s page in a browser', () => Harness.start({ relay: true, env: { USER_LIMIT: '100000' } }));

/** What the page shows, read from its DOM. */
const shownOn = (browser: HeadlessPage) => browser.evaluate<{ status: string; position: string; ahead: string; wait: string; claim: boolean; issued: string }>(`({
  status: document.getElementById('status').dataset.status, position: document.getElementById('position').textContent,
  ahead: document.getElementById('ahead').textContent, wait: document.getElementById('wait').textContent,
  claim: !document.getElementById('claim').hidden, issued: document.getElementById('result').dataset.issued || '' })`);

page('given a person opens /queue/{code} before the start among 40 others, then the page shows the pre-queue, then their place falling as passes go out, then a claim button, and the claim gets them the coupon', async (harness) => {
  const tag = Date.now().toString(36).toUpperCase();
  const code = `WAIT-${tag}`;
  const start = Date.now() + 8_000;
  const couponId = await harness.createCoupon({ name: 'Opening second, fairly', code, totalQuantity: 50, issueStartAt: new Date(start).toISOString(), opening: { mode: 'queue', admitPerSecond: 2, passTtlSeconds: 60 } });
  for (let i = 0; i < 40; i++) {
    const joined = await harness.request('POST', `/coupons/${couponId}/queue`, { token: await harness.token(`crowd-${i}-${tag}`) });
    assert.is(joined.status, 201, joined.text);
  }
  const browser = await HeadlessPage.open();
  try {
    await browser.goto(`${harness.api.url}/queue/${code.toLowerCase()}`);
    const person = `browser-${tag}`;
    await browser.evaluate(`document.getElementById('token').value = ${JSON.stringify(await harness.token(person))}; document.getElementById('sign-in').click()`);
    await eventually('the page to show the pre-queue', () => shownOn(browser), (s) => s.status === 'PRE_QUEUE', { timeoutMs: 10_000, everyMs: 100 });
    assert.ok(Date.now() < start, 'signed in before the start');
    mkdirSync(ARTIFACTS, { recursive: true });

    const seen: Awaited<ReturnType<typeof shownOn>>[] = [];
    const granted = await eventually('the page to offer a claim', async () => {
      const s = await shownOn(browser);
      if (s.status === 'WAITING' && seen.length === 0) writeFileSync(`${ARTIFACTS}queue-page-waiting.png`, await browser.screenshot());
      if (s.status === 'WAITING') seen.push(s);
      return s;
    }, (s) => s.status === 'PASS_GRANTED' && s.claim, { timeoutMs: 40_000, everyMs: 100 });
    const positions = seen.map((s) => Number(s.position));
    assert.ok(positions.every((p, i) => i === 0 || p <= positions[i - 1]!), `the place never rises: ${positions.join(' ')}`);
    const { place } = (await harness.request('GET', `/coupons/${couponId}/queue/me`, { token: await harness.token(person) })).body as { place: number };
    // A step grants before the page's first view of the line (the room is stepped, then read), so from place 1 or 2
    // the first place shown may already be the last: from place 3 on, at least two are shown.
    if (place > 2) assert.ok(positions[0]! > positions.at(-1)!, `from place ${place}, the page showed it falling: ${[...new Set(positions)].join(' → ')}`);
    assert.ok(granted.claim);
    // At 2 passes a second, the wait shown is about half the people ahead, not the time the room stood closed.
    const estimates = seen.map((s) => [Number(/\d+ ahead/.exec(s.ahead)?.[0].split(' ')[0]), Number(/About (\d+) s/.exec(s.wait)?.[1])] as const);
    const late = estimates.slice(Math.floor(estimates.length / 2));
    assert.ok(late.every(([ahead, wait]) => wait <= ahead / 2 + 3), `waits shown against people ahead: ${JSON.stringify(late)}`);

    await browser.evaluate(`document.getElementById('claim').click()`);
    const done = await eventually('the page to show the coupon issued', () => shownOn(browser), (s) => s.issued !== '' && s.status === 'ISSUED', { timeoutMs: 10_000, everyMs: 100 });
    writeFileSync(`${ARTIFACTS}queue-page-issued.png`, await browser.screenshot());
    process.stdout.write(`screenshots: ${ARTIFACTS}queue-page-waiting.png, ${ARTIFACTS}queue-page-issued.png\n`);
    const held = await harness.request('GET', `/coupons/${couponId}/issuance`, { token: await harness.token(person) });
    assert.equal(held.body, { issued: true, issuedCouponId: done.issued, status: 'ISSUED' });
  } finally {
    await browser.close();
  }
});

page('the page is public and static, with a policy that allows its own inline script and the API only', async (harness) => {
  const answer = await harness.request('GET', '/queue/ANY-CODE');
  assert.is(answer.status, 200);
  assert.match(String(answer.headers['content-type']), /text\/html/);
  assert.match(String(answer.headers['content-security-policy']), /connect-src 'self'/);
  assert.not.match(answer.text, /https?:\/\//, 'no external script, style or link');
});

page.run();
