import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { Harness } from '../support/api-harness.ts';
import { assertLogRebuildsLiveRows } from '../support/replayed-rows.ts';
import { spec } from '../support/spec.ts';

const late = spec('a late copy in the log (a relay that stalled past its lease sends an old entry after newer ones)', () =>
  Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '100000' } }));

late('given two changes of each setting and then a copy of each first one at the end of the log, then the read model, a restore, a rebuild and the audit keep the newer ones', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 5, eligibility: { allowList: true } });
  const admin = await harness.token('root', 'admin');
  const put = (ids: string) => harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, { token: admin, rawBody: ids, headers: { 'content-type': 'text/csv' } });
  const end = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
  const window = (issueEndAt: string) => harness.request('PATCH', `/admin/coupons/${couponId}`, { token: admin, body: { issueEndAt } });
  const claims = (requiredClaims: unknown) => harness.request('PUT', `/admin/coupons/${couponId}/eligibility`, { token: admin, body: { requiredClaims } });
  const [firstEnd, lastEnd] = [end(2), end(5)];
  for (const answer of [await put('ann\n'), await window(firstEnd), await claims({ tier: ['gold'] }), await put('bob\n'), await window(lastEnd), await claims(null)]) {
    assert.is(answer.status, 200, answer.text);
  }
  await harness.drained(couponId);
  const firsts = (await harness.eventsOf(couponId)).filter((e, i, all) =>
    ['CouponAllowListReplaced', 'CouponIssueWindowChanged', 'CouponEligibilityChanged'].includes(e.type) && all.findIndex((o) => o.type === e.type) === i);
  assert.equal(firsts.map((e) => e.type), ['CouponAllowListReplaced', 'CouponIssueWindowChanged', 'CouponEligibilityChanged']);
  await appendCopies(harness, firsts);

  await harness.projected();
  const row = await harness.runtime.db.selectFrom('coupon').select(['issue_end_at', 'required_claims', 'allow_list_version', 'allow_list_size']).where('id', '=', couponId).executeTakeFirstOrThrow();
  assert.equal(row, { issue_end_at: new Date(lastEnd), required_claims: null, allow_list_version: 2, allow_list_size: 1 });
  await assertLogRebuildsLiveRows(harness, couponId);

  // Redis lost the coupon: the next request restores it from the log, copies and all.
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, ...k.allowLists);
  const bob = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('bob') });
  assert.equal(bob.status, 201, `the newer list, not the copy of the first: ${bob.text}`);
  assert.equal((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('ann') })).body.code, 'NOT_ELIGIBLE');
  const view = await harness.request('GET', `/coupons/${couponId}`, { token: admin });
  assert.equal([view.body.issueEndAt, view.body.eligibility], [lastEnd, { requiredClaims: null, allowList: true }]);
  // The restored coupon's next change continues past every revision in the log, so it takes effect everywhere.
  const later = end(6);
  assert.is((await window(later)).status, 200);
  await harness.drained(couponId);
  await harness.projected();
  const moved = await harness.runtime.db.selectFrom('coupon').select('issue_end_at').where('id', '=', couponId).executeTakeFirstOrThrow();
  assert.equal(moved.issue_end_at, new Date(later));
  assert.ok(auditPassed(await harness.audit(couponId)));
});

/** What a stalled relay does when it wakes: produces entries it read long ago, after everything since. */
async function appendCopies(harness: Harness, events: CouponEvent[]): Promise<void> {
  const producer = await harness.runtime.kafka.producer();
  await producer.append(harness.runtime.config.kafka.topic, events.map((e) => ({ key: e.couponId, value: JSON.stringify(e) })));
  await producer.close();
}

late.run();
