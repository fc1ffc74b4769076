import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { flushEveryNode } from '../../src/redis/redis-client.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { scrape } from '../support/prometheus-text.ts';
import { spec } from '../support/spec.ts';

const window = spec('the issue window of a live coupon moved', () => Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '100000' } }));
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

window('given bad input, a user, a started coupon or a closed one, then a clear 4xx and nothing changes', async (harness) => {
  const now = Date.now();
  const couponId = await harness.createCoupon({ issueStartAt: iso(now - 60_000), issueEndAt: iso(now + HOUR), validUntil: iso(now + 2 * HOUR) });
  const admin = await harness.token('admin', 'admin');
  const patch = (body: unknown, token = admin) => harness.request('PATCH', `/admin/coupons/${couponId}`, { token, body });
  for (const body of [{}, { issueEndAt: 'soon' }, { issueEndAt: iso(now + 3 * HOUR) }, { issueEndAt: iso(now - 1_000) }, { issueEndAt: iso(now + HOUR), name: 'x' }]) {
    const answer = await patch(body);
    assert.equal([answer.status, answer.body.code], [400, 'VALIDATION_FAILED'], JSON.stringify(body));
  }
  assert.equal([(await patch({ issueStartAt: iso(now + 60_000) })).body.code], ['ISSUE_STARTED']);
  assert.is((await patch({ issueEndAt: iso(now + HOUR / 2) }, await harness.token('someone'))).status, 403);
  const view = await harness.request('GET', `/admin/coupons/${couponId}`, { token: admin });
  assert.is(view.body.issueEndAt, iso(now + HOUR), 'nothing moved');
  assert.is((await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin })).status, 200);
  assert.equal((await patch({ issueEndAt: iso(now + HOUR / 2) })).body.code, 'COUPON_CLOSED');
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated', 'CouponIssuanceClosed'], 'no event for a refused change');
});

window('given an upcoming coupon, when its start is brought forward, it opens; when its end is brought in, it ends then; when the end is moved out again, it admits again; the log, read models, audit and a restore agree', async (harness) => {
  const now = Date.now();
  const couponId = await harness.createCoupon({ totalQuantity: 100, issueStartAt: iso(now + HOUR), issueEndAt: iso(now + 2 * HOUR), validUntil: iso(now + 3 * HOUR) });
  const admin = await harness.token('admin', 'admin');
  const ask = async (user: string) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
  const patch = (body: unknown) => harness.request('PATCH', `/admin/coupons/${couponId}`, { token: admin, body });
  assert.is((await ask('early')).body.code, 'ISSUE_NOT_STARTED');
  const opened = await patch({ issueStartAt: iso(now - 1_000) });
  assert.equal([opened.status, opened.body.issueStartAt, opened.body.issueEndAt], [200, iso(now - 1_000), iso(now + 2 * HOUR)]);
  assert.is((await ask('first')).status, 201);

  const end = Date.now() + 1_500;
  assert.is((await patch({ issueEndAt: iso(end) })).status, 200);
  assert.is((await ask('in-time')).status, 201);
  await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 50)));
  assert.is((await ask('too-late')).body.code, 'ISSUE_ENDED');
  const finalEnd = Date.now() + HOUR;
  assert.is((await patch({ issueEndAt: iso(finalEnd) })).status, 200);
  assert.is((await ask('again')).status, 201, 'an ended window moved out admits again');

  await harness.drained(couponId);
  const changes = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponIssueWindowChanged').map((e) => e.data);
  assert.equal(changes, [
    { issueStartAt: iso(now - 1_000), issueEndAt: iso(now + 2 * HOUR), revision: 1 },
    { issueStartAt: iso(now - 1_000), issueEndAt: iso(end), revision: 2 },
    { issueStartAt: iso(now - 1_000), issueEndAt: iso(finalEnd), revision: 3 },
  ], 'each change one setting revision past the last');
  await harness.projected();
  const row = await harness.runtime.db.selectFrom('coupon').select(['issue_start_at', 'issue_end_at', 'definition']).where('id', '=', couponId).executeTakeFirstOrThrow();
  const definition = JSON.parse(row.definition ?? 'null') as { issueStartAt: string; issueEndAt: string };
  assert.equal([row.issue_start_at.toISOString(), row.issue_end_at.toISOString(), definition.issueStartAt, definition.issueEndAt],
    [iso(now - 1_000), iso(finalEnd), iso(now - 1_000), iso(finalEnd)]);
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));

  await flushEveryNode(harness.runtime.redis);
  const { code, output } = await runCli('restore-admission');
  assert.is(code, 0, output);
  const view = await harness.request('GET', `/coupons/${couponId}`, { token: await harness.token('first') });
  assert.equal([view.body.issueStartAt, view.body.issueEndAt, view.body.status], [iso(now - 1_000), iso(finalEnd), 'OPEN']);
});

window('given a sold-out coupon answered from memory, when its end is brought in, then after the new end the answer is ISSUE_ENDED, not a remembered SOLD_OUT', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 2 });
  const ask = async (user: string) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
  await Promise.all(['a', 'b', 'c'].map(ask));
  let probe = 0;
  await eventually('an answer from memory', async () => {
    await ask(`probe-${probe++}`);
    return (await scrape(harness.api.url)).value('admission_answers_from_memory_total');
  }, (n) => n > 0, { timeoutMs: 10_000, everyMs: 50 });
  const end = Date.now() + 1_000;
  assert.is((await harness.request('PATCH', `/admin/coupons/${couponId}`, { token: await harness.token('admin', 'admin'), body: { issueEndAt: iso(end) } })).status, 200);
  await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 50)));
  assert.is((await ask('after-the-end')).body.code, 'ISSUE_ENDED');
});

window.run();
