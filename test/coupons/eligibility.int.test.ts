import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { peakRssMb } from '../support/peak-rss.ts';
import { spec } from '../support/spec.ts';
import { tally } from '../support/tally.ts';

const eligibility = spec('coupons for some users only', () => Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '100000' } }));


const ask = async (harness: Harness, couponId: string, user: string, claims?: Record<string, string | string[]>) =>
  harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user, 'user', undefined, claims) });
const upload = async (harness: Harness, couponId: string, body: string, contentType: string) =>
  harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, { token: await harness.token('admin', 'admin'), rawBody: body, headers: { 'content-type': contentType } });

eligibility('given required claims, then callers without them get 403 NOT_ELIGIBLE and take no stock; with them, issued; the claims are in the log; dropped, anyone', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, eligibility: { requiredClaims: { tier: ['gold', 'vip'] } } });
  for (const [user, claims] of [['silver', { tier: 'silver' }], ['none', undefined], ['other', { region: 'gold' }]] as const) {
    const answer = await ask(harness, couponId, user, claims);
    assert.equal([answer.status, answer.body.code, answer.headers['content-type']], [403, 'NOT_ELIGIBLE', 'application/problem+json'], user);
  }
  const view = await harness.request('GET', `/coupons/${couponId}`, { token: await harness.token('viewer') });
  assert.is(view.body.remainingQuantity, 10, 'no stock taken');
  assert.equal(view.body.eligibility, { requiredClaims: { tier: ['gold', 'vip'] }, allowList: false }, 'a client can say who may claim it');
  assert.is((await ask(harness, couponId, 'goldie', { tier: ['bronze', 'gold'] })).status, 201);

  const admin = await harness.token('admin', 'admin');
  const put = (body: unknown) => harness.request('PUT', `/admin/coupons/${couponId}/eligibility`, { token: admin, body });
  for (const body of [{ requiredClaims: {} }, { requiredClaims: { sub: ['x'] } }, { requiredClaims: { tier: [] } }, {}, { requiredClaims: null, more: 1 }]) {
    assert.equal([(await put(body)).status], [400], JSON.stringify(body));
  }
  assert.is((await harness.request('PUT', `/admin/coupons/${couponId}/eligibility`, { token: await harness.token('someone'), body: { requiredClaims: null } })).status, 403);
  assert.equal([(await put({ requiredClaims: null })).status, (await ask(harness, couponId, 'silver', { tier: 'silver' })).status], [200, 201]);

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  assert.equal(events.map((e) => e.type), ['CouponCreated', 'CouponIssued', 'CouponEligibilityChanged', 'CouponIssued']);
  assert.equal(events.flatMap((e) => (e.type === 'CouponIssued' ? [e.data.claims ?? null] : [])), [{ tier: ['bronze', 'gold'] }, null]);
  await harness.projected();
  const admin1 = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.equal(admin1.body.eligibility, { requiredClaims: null, allowList: null });
  assert.ok(auditPassed(await harness.audit(couponId)));
});

eligibility('given a coupon for gold callers and one for an allow-list, then the catalog offers each only to callers who may claim it', async (harness) => {
  const gold = await harness.createCoupon({ name: 'Gold only', eligibility: { requiredClaims: { tier: ['gold'] } } });
  const listed = await harness.createCoupon({ name: 'Listed only', eligibility: { allowList: true } });
  const anyone = await harness.createCoupon({ name: 'Anyone' });
  assert.is((await upload(harness, listed, 'cat-listed\n', 'text/csv')).status, 200);
  for (const id of [gold, listed, anyone]) await harness.drained(id);
  await harness.projected();
  const offered = async (user: string, claims?: Record<string, string>) => {
    const answer = await harness.request<{ items: { id: string; eligibility: unknown }[] }>('GET', '/coupons?status=OPEN&limit=100', { token: await harness.token(user, 'user', undefined, claims) });
    const listedItem = answer.body.items.find((i) => i.id === listed);
    if (listedItem) assert.equal(listedItem.eligibility, { requiredClaims: null, allowList: true });
    return answer.body.items.map((i) => i.id).filter((id) => [gold, listed, anyone].includes(id)).sort();
  };
  assert.equal(await offered('cat-silver', { tier: 'silver' }), [anyone]);
  assert.equal(await offered('cat-gold', { tier: 'gold' }), [gold, anyone].sort());
  assert.equal(await offered('cat-listed'), [listed, anyone].sort());
});

eligibility('given 1,500 callers at once for 200 coupons, 1,000 of them without the claim, then all 200 go to callers with it', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 200, eligibility: { requiredClaims: { tier: ['gold'] } } });
  const callers = Array.from({ length: 1_500 }, (_, i) => ({ user: `c-${i}`, gold: i % 3 === 0 }));
  const answers = await Promise.all(callers.map(async (c) => ({ ...c, answer: await ask(harness, couponId, c.user, c.gold ? { tier: 'gold' } : { tier: 'silver' }) })));
  const issued = answers.filter((a) => a.answer.status === 201);
  assert.is(issued.length, 200, JSON.stringify(tally(answers.map((a) => a.answer))));
  assert.ok(issued.every((a) => a.gold), 'only callers with the claim');
  assert.ok(answers.filter((a) => !a.gold).every((a) => ['NOT_ELIGIBLE', 'SOLD_OUT'].includes(a.answer.body.code as string)), JSON.stringify(tally(answers.filter((a) => !a.gold).map((a) => a.answer))));
});

eligibility('given an allow-list coupon, then nobody until a list is uploaded (CSV, then NDJSON replacing it); a bad upload changes nothing; removed, anyone', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, eligibility: { allowList: true } });
  assert.equal((await ask(harness, couponId, 'ann')).body.code, 'NOT_ELIGIBLE');
  const csv = await upload(harness, couponId, 'userId,note\nann,first\n"bob",second\r\ncat\nann\n', 'text/csv');
  assert.equal([csv.status, csv.body.allowList], [200, { version: 1, size: 3 }]);
  assert.equal([(await ask(harness, couponId, 'ann')).status, (await ask(harness, couponId, 'dan')).body.code], [201, 'NOT_ELIGIBLE']);

  const bad = await upload(harness, couponId, '"dan"\n"eve"\n{"id":"x"}\n', 'application/x-ndjson');
  assert.equal([bad.status, bad.body.code], [400, 'VALIDATION_FAILED']);
  assert.match(String(bad.body.detail), /^Line 3/);
  assert.equal([(await ask(harness, couponId, 'bob')).status, (await ask(harness, couponId, 'dan')).body.code], [201, 'NOT_ELIGIBLE'], 'the list in force is unchanged');
  assert.is((await upload(harness, couponId, 'dan\n', 'text/plain')).status, 415);
  assert.is((await harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, { token: await harness.token('someone'), rawBody: 'x\n', headers: { 'content-type': 'text/csv' } })).status, 403);

  const ndjson = await upload(harness, couponId, '"dan"\n{"userId":"eve"}\n', 'application/x-ndjson');
  assert.equal([ndjson.status, ndjson.body.allowList], [200, { version: 3, size: 2 }]);
  assert.equal([(await ask(harness, couponId, 'cat')).body.code, (await ask(harness, couponId, 'dan')).status], ['NOT_ELIGIBLE', 201]);

  assert.is((await harness.request('DELETE', `/admin/coupons/${couponId}/allow-list`, { token: await harness.token('admin', 'admin') })).status, 204);
  assert.is((await ask(harness, couponId, 'zed')).status, 201);
  await harness.drained(couponId);
  await harness.projected();
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
});

/** A PUT of an allow-list whose body the caller writes piece by piece. */
async function streamedUpload(harness: Harness, couponId: string, body: AsyncIterable<string>, apiUrl = harness.api.url): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = await harness.token('admin', 'admin');
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${apiUrl}/admin/coupons/${couponId}/allow-list`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    Readable.from(body).pipe(req);
  });
}

eligibility('given an upload still running when another starts and finishes, then the first is refused 409 UPLOAD_SUPERSEDED and the second is in force', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, eligibility: { allowList: true } });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const first = streamedUpload(harness, couponId, (async function* () {
    yield Array.from({ length: 1_500 }, (_, i) => `"early-${i}"\n`).join('');
    await held;
    yield '"early-last"\n';
  })());
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await eventually('the first upload under way', async () => Math.max(...(await Promise.all(k.allowLists.map((key) => harness.runtime.redis.scard(key))))), (n) => n >= 1_000);
  const second = await upload(harness, couponId, '"late-1"\n"late-2"\n', 'application/x-ndjson');
  assert.equal([second.status, second.body.allowList], [200, { version: 2, size: 2 }]);
  release();
  const refused = await first;
  assert.equal([refused.status, refused.body.code], [409, 'UPLOAD_SUPERSEDED']);
  assert.equal([(await ask(harness, couponId, 'early-1')).body.code, (await ask(harness, couponId, 'late-1')).status], ['NOT_ELIGIBLE', 201]);
});

eligibility('given a list of 1,000,000 ids streamed to an API process with a 48 MB heap, then it takes the list chunk by chunk as it arrives, in bounded memory, it comes into force whole, and a restore from the log brings it back', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 10, eligibility: { allowList: true } });
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  const staged = async () => Math.max(...(await Promise.all(k.allowLists.map((key) => harness.runtime.redis.scard(key)))));
  const TOTAL = 1_000_000;
  let seenMidway = 0;
  async function* body(): AsyncGenerator<string> {
    for (let from = 0; from < TOTAL; from += 10_000) {
      // Halfway, the client waits for the server to have taken what was sent: it reads as the body arrives, not at its end.
      if (from === TOTAL / 2) seenMidway = await eventually('ids staged before the body ends', staged, (n) => n >= 100_000, { timeoutMs: 60_000 });
      yield Array.from({ length: 10_000 }, (_, i) => `"member-${from + i}"\n`).join('');
    }
  }
  // The ids alone would take more than this heap: a process that held the list would run out of memory.
  const api = await spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn', NODE_OPTIONS: '--max-old-space-size=48' });
  let answer: { status: number; body: Record<string, unknown> };
  let grewMb: number;
  try {
    const before = peakRssMb(api.child.pid!);
    answer = await streamedUpload(harness, couponId, body(), api.url);
    grewMb = peakRssMb(api.child.pid!) - before;
  } finally {
    await api.stop();
  }
  // The body is 17 MB and the ids as strings far more; the process grew by a fraction of either (2 to 12 MB here).
  assert.ok(grewMb < 40, `the API process's peak RSS grew ${grewMb.toFixed(1)} MB`);
  assert.equal([answer.status, answer.body.allowList], [200, { version: 1, size: TOTAL }]);
  assert.ok(seenMidway >= 100_000 && seenMidway <= TOTAL / 2, `staged midway: ${seenMidway}`);
  assert.equal([(await ask(harness, couponId, 'member-999999')).status, (await ask(harness, couponId, 'stranger')).body.code], [201, 'NOT_ELIGIBLE']);

  await harness.drained(couponId, 120_000);
  const chunks = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponAllowListChunkAdded');
  assert.is(chunks.length, TOTAL / 1_000);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, ...k.allowLists);
  // Read through the history index: the chunks must be indexed like every other event.
  await harness.projected(60_000, ['coupon', 'issued_coupon', 'coupon_history']);
  assert.equal([(await ask(harness, couponId, 'member-5')).status, (await ask(harness, couponId, 'stranger-2')).body.code], [201, 'NOT_ELIGIBLE'], 'restored from the log');
  assert.is(await harness.runtime.redis.scard(k.allowLists[0]), TOTAL);
});

eligibility.run();
