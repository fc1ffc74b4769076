import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const erasure = spec('erasure by crypto-shredding', async () => (harness = await Harness.start({ relay: true, projector: true, notifier: true })));

/** Every segment file of this file's topic, on every broker of the local stack. */
function segmentFiles(): string[] {
  const topic = harness.runtime.config.kafka.topic;
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!statSync(path).isDirectory()) continue;
      if (name.startsWith(`${topic}-`)) found.push(...readdirSync(path).filter((f) => f.endsWith('.log')).map((f) => join(path, f)));
      else if (depth < 4) walk(path, depth + 1);
    }
  };
  walk(resolve(harness.runtime.config.stackDir), 0);
  return found;
}

/** Which of `needles` some text column of some table of this file's database holds. */
async function inMysql(needles: string[]): Promise<string[]> {
  const { db } = harness.runtime;
  const columns = await sql<{ t: string; c: string }>`SELECT table_name AS t, column_name AS c FROM information_schema.columns
    WHERE table_schema = DATABASE() AND data_type IN ('varchar', 'char', 'text', 'mediumtext', 'longtext', 'json')`.execute(db);
  const hits: string[] = [];
  for (const { t, c } of columns.rows) {
    for (const needle of needles) {
      const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(t)} WHERE ${sql.ref(c)} LIKE ${`%${needle}%`}`.execute(db);
      if (Number(rows[0]!.n) > 0) hits.push(`${t}.${c} holds ${needle}`);
    }
  }
  return hits;
}

erasure('a person who held, used and was notified is erased: the log\'s segments, MySQL, the history and the export know them no more; a rebuild and the audit pass, every count stands, and their order can still be cancelled', async () => {
  const tag = Date.now().toString(36);
  const [person, order, other] = [`erase-me-${tag}`, `order-${tag}-1`, `keep-me-${tag}`];
  const couponId = await harness.createCoupon({ totalQuantity: 5 });
  const orders = await harness.token('orders', 'service');
  const admin = await harness.token('admin', 'admin');
  const issued: Record<string, string> = {};
  for (const user of [person, other]) issued[user] = (await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) })).body.issuedCouponId as string;
  assert.is((await harness.request('POST', `/issued-coupons/${issued[person]}/hold`, { token: orders, body: { orderId: order, ttlSeconds: 600, userId: person } })).status, 200);
  assert.is((await harness.request('POST', `/issued-coupons/${issued[person]}/use`, { token: orders, body: { orderId: order, userId: person } })).status, 200);
  assert.is((await harness.request('POST', `/issued-coupons/${issued[other]}/use`, { token: orders, body: { orderId: `order-${tag}-2`, userId: other } })).status, 200);
  await harness.drained(couponId);
  await harness.projected(60_000, ['coupon', 'issued_coupon', 'notification']);
  assert.equal((await inMysql([person])).length > 0, true, 'the person is in MySQL before');
  const counts = async () => harness.runtime.db.selectFrom('coupon').select(['issued_count', 'used_count']).where('id', '=', couponId).executeTakeFirstOrThrow();
  const before = await counts();

  const erased = await harness.request('DELETE', `/admin/people/${person}`, { token: admin });
  assert.equal([erased.status, erased.body.coupons], [200, 1], erased.text);
  const erasedAs = erased.body.erasedAs as string;
  const { code, output } = await runCli('projections', ['rebuild']);
  assert.is(code, 0, output);
  await harness.projected(60_000, ['coupon', 'issued_coupon', 'notification']);

  assert.equal(await inMysql([person]), [], 'nothing of the person is left in MySQL');
  const history = await harness.request('GET', `/admin/coupons/${couponId}/events`, { token: admin });
  const holders = await harness.request('GET', `/admin/coupons/${couponId}/holders?format=csv`, { token: admin });
  for (const [what, text] of [['history', history.text], ['export', holders.text]] as const) {
    assert.not.ok(text.includes(person), `${what} names the person`);
    assert.ok(text.includes(erasedAs) && text.includes(other), `${what} shows the placeholder where the person was, and the others`);
  }
  const segments = segmentFiles();
  assert.ok(segments.length > 0, 'the topic\'s segment files are found');
  const log = Buffer.concat(segments.map((f) => readFileSync(f)));
  assert.ok(log.includes(couponId), 'the segments hold the coupon\'s events');
  assert.equal([person, other].filter((s) => log.includes(s)), [], 'no person is in the log\'s segments, sealed or erased');
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  assert.equal([await harness.runtime.redis.hexists(k.holders, person), await harness.runtime.redis.hget(k.holders, erasedAs)], [0, issued[person]!.split('.')[1]!.replace(/^0+/, '')]);
  assert.equal(await counts(), before, 'counts stand');
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report));
  // Admission goes on for the coupon: the erased holding still holds its place, and the others' coupons work.
  const again = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(`late-${tag}`) });
  assert.is(again.status, 201);
  // The order system can still cancel the erased person's use by its order (the order id is its reference, not the person).
  assert.is((await harness.request('POST', `/issued-coupons/${issued[person]}/cancel-use`, { token: orders, body: { orderId: order } })).status, 200);
});

erasure('only an admin erases: a user or a service is 403 and nothing is erased', async () => {
  for (const role of ['user', 'service'] as const) {
    const answer = await harness.request('DELETE', '/admin/people/someone', { token: await harness.token('x', role) });
    assert.is(answer.status, 403);
  }
});

erasure.run();
