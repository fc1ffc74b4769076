import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import * as assert from 'uvu/assert';
import { Harness, type Answer } from '../support/api-harness.ts';
import { masterNodes } from '../../src/redis/redis-client.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
// Five attempts per user and coupon for the file's length, so the limit is reached on purpose.
const dry = spec('dry runs', async () => (harness = await Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '5', USER_LIMIT_WINDOW_MS: '600000' } })));

/** Every Redis key and value but the relays' leases, the log's end offsets, and the read models' checksums. */
async function everything(): Promise<string> {
  const { redis, kafka, db, config } = harness.runtime;
  const hash = createHash('sha256');
  const keys: string[] = [];
  // Every master's keys: on a cluster a SCAN reads one node.
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, page] = await node.scan(cursor, 'COUNT', 1_000);
      keys.push(...page.filter((k) => !/:relay-(lease|epoch)$/.test(k)));
      cursor = next;
    } while (cursor !== '0');
  }
  for (const key of keys.sort()) hash.update(`${key}=${(await redis.dumpBuffer(key))?.toString('hex')}\n`);
  const ends = [...(await kafka.endOffsets(config.kafka.topic))].map(([p, o]) => `${p}:${o}`).join(',');
  const { rows } = await sql<{ Checksum: string }>`CHECKSUM TABLE coupon, issued_coupon, notification`.execute(db);
  return `${hash.digest('hex')} ${ends} ${rows.map((r) => r.Checksum).join(',')}`;
}

/** What an answer says: its status, its problem code, and what the success would grant. */
const said = (a: Answer) => JSON.stringify([a.status, a.body?.code ?? null, a.body?.discountGranted ?? null, a.body?.status ?? null]);

/** The dry run of `call` changes nothing, then the real call answers what the dry run said. */
async function dryThenReal(couponId: string, call: (query: string) => Promise<Answer>, what: string): Promise<Answer> {
  await harness.drained(couponId);
  await harness.projected();
  const before = await everything();
  const dryAnswer = await call('?dryRun=true');
  assert.is(await everything(), before, `${what}: the dry run changed nothing`);
  const real = await call('');
  assert.is(said(real), said(dryAnswer), `${what}: the real call answered what the dry run said`);
  if (real.status < 300) assert.equal([dryAnswer.body.dryRun, real.body.dryRun], [true, undefined], what);
  return real;
}

dry('issue, hold and use: every outcome a dry run answers is the real call\'s next answer, and the dry run leaves Redis, the log and MySQL as they were', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 2, discount: { type: 'AMOUNT', value: 7 }, currency: 'EUR', budget: { amount: 10 } });
  const [ann, bob, cy] = await Promise.all(['dry-ann', 'dry-bob', 'dry-cy'].map((u) => harness.token(u)));
  const issue = (token: string) => (q: string) => harness.request('POST', `/coupons/${couponId}/issue${q}`, { token });
  const annIssued = await dryThenReal(couponId, issue(ann!), 'an issue');
  await dryThenReal(couponId, issue(ann!), 'an issue to a holder');
  const bobIssued = await dryThenReal(couponId, issue(bob!), 'the last issue');
  await dryThenReal(couponId, issue(cy!), 'an issue when sold out');
  const [annId, bobId] = [annIssued.body.issuedCouponId as string, bobIssued.body.issuedCouponId as string];

  const hold = (id: string, token: string, orderId: string) => (q: string) => harness.request('POST', `/issued-coupons/${id}/hold${q}`, { token, body: { orderId, ttlSeconds: 600 } });
  // Uses of a coupon that grants money come from the order system, naming the holder and the order's total.
  const orders = await harness.token('orders', 'service');
  const holderOf: Record<string, string> = { [ann!]: 'dry-ann', [bob!]: 'dry-bob', [cy!]: 'dry-cy' };
  const use = (id: string, token: string, body: Record<string, unknown>) => (q: string) =>
    harness.request('POST', `/issued-coupons/${id}/use${q}`, { token: orders, body: { ...body, userId: holderOf[token] } });
  await dryThenReal(couponId, hold(annId, ann!, 'A'), 'a hold');
  await dryThenReal(couponId, hold(annId, ann!, 'B'), 'a hold by another order');
  await dryThenReal(couponId, use(annId, ann!, { orderId: 'B', orderTotal: 30, currency: 'EUR' }), 'a use by another order while held');
  await dryThenReal(couponId, use(annId, ann!, { orderId: 'A', orderTotal: 30, currency: 'USD' }), 'a use in another currency');
  const confirmed = await dryThenReal(couponId, use(annId, ann!, { orderId: 'A', orderTotal: 30, currency: 'EUR' }), 'the held order\'s use');
  assert.is(confirmed.body.discountGranted, 7);
  await dryThenReal(couponId, use(bobId, bob!, { orderId: 'C', orderTotal: 30, currency: 'EUR' }), 'a use past the budget');
  await dryThenReal(couponId, use(annId, ann!, { orderId: 'A', orderTotal: 30, currency: 'EUR' }), 'a second use');
  await dryThenReal(couponId, use(annId, cy!, { orderId: 'A', orderTotal: 30, currency: 'EUR' }), 'someone else\'s coupon');
  // bob has made one attempt at using (dry runs count none): four more reach the limit of 5, and the sixth is refused.
  for (let i = 0; i < 4; i++) await use(bobId, bob!, { orderTotal: 30, currency: 'EUR' })('');
  const limited = await dryThenReal(couponId, use(bobId, bob!, { orderTotal: 30, currency: 'EUR' }), 'a use over the attempt limit');
  assert.is(limited.status, 429);
});

dry('a dry run is refused where no one script can answer it, and a bad dryRun value is 400', async () => {
  const bucketed = await harness.createCoupon({ totalQuantity: 10, buckets: 2 });
  const token = await harness.token('dry-dee');
  const answer = await harness.request('POST', `/coupons/${bucketed}/issue?dryRun=true`, { token });
  const bad = await harness.request('POST', `/coupons/${bucketed}/issue?dryRun=yes`, { token });
  assert.equal([answer.status, answer.body.code, bad.status, bad.body.code], [400, 'VALIDATION_FAILED', 400, 'VALIDATION_FAILED']);
});

dry.run();
