import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { Harness, type Answer } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';
import { masterNodes } from '../../src/redis/redis-client.ts';

let harness!: Harness;
/** Keys Redis holds, on every master of a cluster. */
const keysInRedis = async () => (await Promise.all(masterNodes(harness.runtime.redis).map((node) => node.dbsize()))).reduce((a, b) => a + b, 0);
let admin!: string;
let alice!: string;
let bob!: string;
async function start(): Promise<Harness> {
  harness = await Harness.start({ relay: true });
  [admin, alice, bob] = await Promise.all([harness.token('admin-1', 'admin'), harness.token('alice'), harness.token('bob')]);
  return harness;
}
const HOUR = 3_600_000;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

function isProblem(answer: Answer, status: number, code: string): void {
  assert.is(answer.status, status, `expected ${status} ${code}, got ${answer.status} ${answer.text}`);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  assert.is(answer.body.code, code);
  assert.is(answer.body.status, status);
  assert.type(answer.body.type, 'string');
  assert.type(answer.body.title, 'string');
  assert.type(answer.body.detail, 'string');
  assert.not.match(answer.text, /\bat .+\.ts:\d+/, 'no stack trace');
}

const validBody = () => ({
  name: 'Black Friday 10%', totalQuantity: 1000, discount: { type: 'PERCENT', value: 10 },
  issueStartAt: at(-HOUR), issueEndAt: at(HOUR), validFrom: at(-HOUR), validUntil: at(2 * HOUR),
});

const create = spec('POST /admin/coupons', start);

create('an admin creates a coupon: 201 with the coupon, times in UTC, and a CouponCreated in the log', async () => {
  const body = { ...validBody(), issueStartAt: '2026-01-01T09:00:00+09:00' };
  const answer = await harness.request('POST', '/admin/coupons', { token: admin, body });
  assert.is(answer.status, 201);
  assert.is(answer.body.issueStartAt, '2026-01-01T00:00:00.000Z');
  assert.is(answer.body.remainingQuantity, 1000);
  assert.is(answer.body.status, 'OPEN');
  assert.is(answer.headers.location, `/admin/coupons/${answer.body.id}`);
  await harness.drained(String(answer.body.id));
  const [created, ...rest] = await harness.eventsOf(String(answer.body.id));
  assert.is(rest.length, 0);
  assert.is(created!.type, 'CouponCreated');
  assert.equal(created!.meta, { requestId: created!.meta.requestId, actor: 'admin-1' });
  assert.is((created!.data as { totalQuantity: number }).totalQuantity, 1000);
});

const rejections: [string, (b: Record<string, unknown>) => unknown, string][] = [
  ['name empty', (b) => ({ ...b, name: '' }), 'name'],
  ['name over 100 chars', (b) => ({ ...b, name: 'x'.repeat(101) }), 'name'],
  ['totalQuantity 0', (b) => ({ ...b, totalQuantity: 0 }), 'totalQuantity'],
  ['totalQuantity over 10,000,000', (b) => ({ ...b, totalQuantity: 10_000_001 }), 'totalQuantity'],
  ['totalQuantity not an integer', (b) => ({ ...b, totalQuantity: 1.5 }), 'totalQuantity'],
  ['totalQuantity a string', (b) => ({ ...b, totalQuantity: '10' }), 'totalQuantity'],
  ['PERCENT 0', (b) => ({ ...b, discount: { type: 'PERCENT', value: 0 } }), 'discount.value'],
  ['PERCENT 101', (b) => ({ ...b, discount: { type: 'PERCENT', value: 101 } }), 'discount.value'],
  ['AMOUNT 0', (b) => ({ ...b, discount: { type: 'AMOUNT', value: 0 } }), 'discount.value'],
  ['AMOUNT negative', (b) => ({ ...b, discount: { type: 'AMOUNT', value: -5 } }), 'discount.value'],
  ['unknown discount type', (b) => ({ ...b, discount: { type: 'FREE', value: 1 } }), 'discount.type'],
  ['issueStartAt equal to issueEndAt', (b) => ({ ...b, issueStartAt: b.issueEndAt }), 'issueEndAt'],
  ['issueStartAt after issueEndAt', (b) => ({ ...b, issueStartAt: at(3 * HOUR) }), 'issueEndAt'],
  ['validFrom after validUntil', (b) => ({ ...b, validFrom: at(3 * HOUR) }), 'validUntil'],
  ['issueEndAt after validUntil', (b) => ({ ...b, issueEndAt: at(3 * HOUR) }), 'issueEndAt'],
  ['a time without offset', (b) => ({ ...b, validFrom: '2026-12-01T09:00:00' }), 'validFrom'],
  ['a time before the year 2000', (b) => ({ ...b, issueStartAt: '0386-10-30T13:30:04Z' }), 'issueStartAt'],
  ['a time from the year 3000 on', (b) => ({ ...b, validUntil: '3000-01-01T00:00:00Z' }), 'validUntil'],
  ['a time missing', (b) => { const { validUntil: _, ...rest } = b; return rest; }, 'validUntil'],
  ['an unknown field', (b) => ({ ...b, sneaky: true }), 'sneaky'],
];
for (const [rule, mutate, path] of rejections) {
  create(`rejects ${rule}: 400 VALIDATION_FAILED naming ${path}, and creates nothing`, async () => {
    const before = await keysInRedis();
    const answer = await harness.request('POST', '/admin/coupons', { token: admin, body: mutate(validBody()) });
    isProblem(answer, 400, 'VALIDATION_FAILED');
    const paths = (answer.body.errors as { path: string }[]).map((e) => e.path);
    assert.ok(paths.includes(path), `errors ${JSON.stringify(answer.body.errors)} name ${path}`);
    assert.is(await keysInRedis(), before, 'no key was written');
  });
}

create('a window that started in the past opens at once', async () => {
  const couponId = await harness.createCoupon({ issueStartAt: '2020-01-01T00:00:00Z' });
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice })).status, 201);
});

create('malformed JSON is 400, a non-JSON body 415, a body over 64 KiB 413', async () => {
  isProblem(await harness.request('POST', '/admin/coupons', { token: admin, rawBody: '{"name": ', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
  isProblem(await harness.request('POST', '/admin/coupons', { token: admin, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  isProblem(await harness.request('POST', '/admin/coupons', { token: admin, body: { ...validBody(), name: 'x'.repeat(70_000) } }), 413, 'PAYLOAD_TOO_LARGE');
});

create('a wrong method is 405 and an unknown route 404, both problem+json', async () => {
  isProblem(await harness.request('DELETE', '/admin/coupons', { token: admin }), 405, 'METHOD_NOT_ALLOWED');
  const trace = await harness.request('TRACE', '/admin/coupons', { token: admin });
  isProblem(trace, 405, 'METHOD_NOT_ALLOWED');
  assert.is(trace.headers.allow, 'POST, HEAD, GET', 'a 405 says what is allowed');
  isProblem(await harness.request('POST', '/admin/coupons', { token: admin, body: validBody(), headers: { 'idempotency-key': '' } }), 400, 'VALIDATION_FAILED');
  isProblem(await harness.request('GET', '/admin/nothing-here', { token: admin }), 404, 'NOT_FOUND');
});

create('Idempotency-Key: the same key and body replays the first coupon; another body is 422', async () => {
  const headers = { 'idempotency-key': `create-${Date.now()}` };
  const body = validBody();
  const first = await harness.request('POST', '/admin/coupons', { token: admin, body, headers });
  const again = await harness.request('POST', '/admin/coupons', { token: admin, body, headers });
  assert.is(first.status, 201);
  assert.is(again.status, 201);
  assert.is(again.body.id, first.body.id);
  assert.is(again.headers['idempotent-replayed'], 'true');
  isProblem(await harness.request('POST', '/admin/coupons', { token: admin, body: { ...body, name: 'other' }, headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
  await harness.drained(String(first.body.id));
  assert.is((await harness.eventsOf(String(first.body.id))).length, 1, 'one CouponCreated, not two');
});

create.run();

const issue = spec('POST /coupons/{id}/issue', start);
issue('201 with the issued coupon; the same user again gets 409 ALREADY_ISSUED carrying their issuedCouponId', async () => {
  const couponId = await harness.createCoupon();
  const first = await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice });
  assert.is(first.status, 201);
  assert.is(first.body.couponId, couponId);
  assert.is(first.body.userId, 'alice');
  assert.match(String(first.body.issuedCouponId), new RegExp(`^${couponId}\\.\\d{8}$`));
  const again = await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice });
  isProblem(again, 409, 'ALREADY_ISSUED');
  assert.is(again.body.issuedCouponId, first.body.issuedCouponId);
});
issue('404 COUPON_NOT_FOUND for an unknown or malformed id', async () => {
  isProblem(await harness.request('POST', '/coupons/01937a4e-0000-7000-8000-000000000000/issue', { token: alice }), 404, 'COUPON_NOT_FOUND');
  isProblem(await harness.request('POST', '/coupons/not-an-id/issue', { token: alice }), 404, 'COUPON_NOT_FOUND');
});
issue('409 SOLD_OUT once every coupon is issued', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 1 });
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice })).status, 201);
  isProblem(await harness.request('POST', `/coupons/${couponId}/issue`, { token: bob }), 409, 'SOLD_OUT');
});
issue('409 ISSUE_NOT_STARTED before the window, ISSUE_ENDED after it', async () => {
  const future = await harness.createCoupon({ issueStartAt: at(HOUR), issueEndAt: at(2 * HOUR), validUntil: at(3 * HOUR) });
  isProblem(await harness.request('POST', `/coupons/${future}/issue`, { token: alice }), 409, 'ISSUE_NOT_STARTED');
  const past = await harness.createCoupon({ issueStartAt: at(-2 * HOUR), issueEndAt: at(-HOUR) });
  isProblem(await harness.request('POST', `/coupons/${past}/issue`, { token: alice }), 409, 'ISSUE_ENDED');
});
issue('409 COUPON_CLOSED after an admin closed it; a second close is 409 too', async () => {
  const couponId = await harness.createCoupon();
  const closed = await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin });
  assert.is(closed.status, 200);
  assert.is(closed.body.status, 'CLOSED');
  isProblem(await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice }), 409, 'COUPON_CLOSED');
  isProblem(await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin }), 409, 'COUPON_CLOSED');
  isProblem(await harness.request('POST', '/admin/coupons/01937a4e-0000-7000-8000-000000000000/close', { token: admin }), 404, 'COUPON_NOT_FOUND');
  assert.is((await harness.request('GET', `/coupons/${couponId}`, { token: alice })).body.status, 'CLOSED');
});
issue('GET /coupons/{id} and /issuance answer from the fast path, current to the last admission', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 3 });
  assert.equal((await harness.request('GET', `/coupons/${couponId}/issuance`, { token: bob })).body, { issued: false });
  const issued = await harness.request('POST', `/coupons/${couponId}/issue`, { token: bob });
  const coupon = await harness.request('GET', `/coupons/${couponId}`, { token: alice });
  assert.is(coupon.body.remainingQuantity, 2);
  assert.equal(Object.keys(coupon.body).sort(), ['code', 'discount', 'eligibility', 'humanCheck', 'id', 'issueEndAt', 'issueStartAt', 'name', 'onePer', 'opening', 'remainingQuantity', 'status', 'totalQuantity', 'validFrom', 'validUntil']);
  assert.equal((await harness.request('GET', `/coupons/${couponId}/issuance`, { token: bob })).body, { issued: true, issuedCouponId: issued.body.issuedCouponId, status: 'ISSUED' });
  isProblem(await harness.request('GET', '/coupons/01937a4e-0000-7000-8000-000000000000', { token: alice }), 404, 'COUPON_NOT_FOUND');
});
issue.run();

const use = spec('POST /issued-coupons/{id}/use', start);
use('the holder uses it once: 200 USED, then 409 ALREADY_USED; the log has one CouponUsed with the order', async () => {
  const couponId = await harness.createCoupon();
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice });
  const id = String(body.issuedCouponId);
  const used = await harness.request('POST', `/issued-coupons/${id}/use`, { token: alice, body: { orderId: 'order-7' } });
  assert.is(used.status, 200);
  assert.is(used.body.status, 'USED');
  isProblem(await harness.request('POST', `/issued-coupons/${id}/use`, { token: alice }), 409, 'ALREADY_USED');
  assert.is((await harness.request('GET', `/coupons/${couponId}/issuance`, { token: alice })).body.status, 'USED');
  await harness.drained(couponId);
  const uses = (await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponUsed');
  assert.equal(uses.map((e) => e.data), [{ issuedCouponId: id, userId: 'alice', useSequence: 1, orderId: 'order-7', useGeneration: 1 }]);
});
use('404 ISSUED_COUPON_NOT_FOUND for someone else\'s coupon, an unknown one and a malformed id', async () => {
  const couponId = await harness.createCoupon();
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice });
  isProblem(await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token: bob }), 404, 'ISSUED_COUPON_NOT_FOUND');
  isProblem(await harness.request('POST', `/issued-coupons/${couponId}.00000099/use`, { token: alice }), 404, 'ISSUED_COUPON_NOT_FOUND');
  isProblem(await harness.request('POST', '/issued-coupons/garbage/use', { token: alice }), 404, 'ISSUED_COUPON_NOT_FOUND');
});
use('409 COUPON_NOT_YET_VALID before validity, COUPON_EXPIRED after it', async () => {
  const later = await harness.createCoupon({ validFrom: at(HOUR), validUntil: at(2 * HOUR) });
  const { body } = await harness.request('POST', `/coupons/${later}/issue`, { token: alice });
  isProblem(await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token: alice }), 409, 'COUPON_NOT_YET_VALID');

  const brief = await harness.createCoupon({ issueEndAt: at(1_500), validUntil: at(1_500) });
  const issued = await harness.request('POST', `/coupons/${brief}/issue`, { token: alice });
  await sleep(1_600);
  isProblem(await harness.request('POST', `/issued-coupons/${issued.body.issuedCouponId}/use`, { token: alice }), 409, 'COUPON_EXPIRED');
  assert.is((await harness.request('GET', `/coupons/${brief}/issuance`, { token: alice })).body.status, 'EXPIRED');
});
use('a closed coupon stays usable by its holder', async () => {
  const couponId = await harness.createCoupon();
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice });
  await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: admin });
  assert.is((await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token: alice })).status, 200);
});
use('Idempotency-Key replays the first 200 instead of ALREADY_USED; unknown body fields are 400', async () => {
  const couponId = await harness.createCoupon();
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token: alice });
  const headers = { 'idempotency-key': `use-${couponId}` };
  const first = await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token: alice, body: { orderId: 'o' }, headers });
  const again = await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token: alice, body: { orderId: 'o' }, headers });
  assert.is(first.status, 200);
  assert.equal(again.body, first.body);
  isProblem(await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token: alice, body: { orderId: 'o', extra: 1 } }), 400, 'VALIDATION_FAILED');
});
use.run();
