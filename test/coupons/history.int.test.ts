import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import { AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { partitionFor } from '../../src/kafka/kafka-client.ts';
import { logAndStores } from '../../src/runtime/runtime.ts';
import { Harness } from '../support/api-harness.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const history = spec('a coupon\'s history costs what its own events cost', async () => (harness = await Harness.start({ relay: true, projector: true })));

type Page = { items: { type: string; offset: number; eventId: string }[]; nextOffset: number | null };

async function allPages(couponId: string, limit: number): Promise<Page[]> {
  const admin = await harness.token('admin', 'admin');
  const pages: Page[] = [];
  for (let from: number | null = 0; from !== null; from = pages[pages.length - 1]!.nextOffset) {
    const answer = await harness.request<Page>('GET', `/admin/coupons/${couponId}/events?limit=${limit}&fromOffset=${from}`, { token: admin });
    assert.is(answer.status, 200, answer.text);
    pages.push(answer.body);
  }
  return pages;
}

/** Another coupon's events in the same partition: what a busy log puts between this coupon's events. */
async function appendOthers(partition: number, count: number): Promise<void> {
  const { kafka, config } = harness.runtime;
  let other: string;
  do other = randomUUID(); while (partitionFor(other, config.kafka.partitions) !== partition);
  const producer = await kafka.producer();
  try {
    for (let sent = 0; sent < count; sent += 50_000) {
      const at = new Date().toISOString();
      await producer.append(config.kafka.topic, Array.from({ length: Math.min(50_000, count - sent) }, () => ({
        key: other,
        value: `{"eventId":"${randomUUID()}","version":1,"type":"CouponIssuanceClosed","couponId":"${other}","occurredAt":"${at}","meta":{},"data":{}}`,
      })));
    }
  } finally {
    await producer.close();
  }
}

history('given 1,000,000 other events around a coupon\'s 252, then its first page holds its first events and its whole history takes 3 pages of 100', async () => {
  const { config } = harness.runtime;
  const couponId = await harness.createCoupon({ totalQuantity: 1_000 });
  const partition = partitionFor(couponId, config.kafka.partitions);
  await issueMany(harness, couponId, Array.from({ length: 100 }, (_, i) => `early-${i}`));
  await harness.drained(couponId);
  await appendOthers(partition, 500_000);
  await issueMany(harness, couponId, Array.from({ length: 150 }, (_, i) => `late-${i}`));
  await harness.drained(couponId);
  await appendOthers(partition, 500_000);
  await harness.request('POST', `/admin/coupons/${couponId}/close`, { token: await harness.token('admin', 'admin') });
  await harness.drained(couponId);
  await harness.projected(300_000, ['coupon', 'issued_coupon', 'coupon_history']);

  const pages = await allPages(couponId, 100);
  assert.equal(pages.map((p) => p.items.length), [100, 100, 52], 'as many pages as its own events need, none empty');
  assert.is(pages[0]!.items[0]!.type, 'CouponCreated', 'the first page starts with its first event');
  const events = pages.flatMap((p) => p.items);
  assert.equal(events.map((e) => e.type), ['CouponCreated', ...Array(250).fill('CouponIssued'), 'CouponIssuanceClosed']);
  assert.ok(events[events.length - 1]!.offset > 1_000_000, 'its last event sits after a million others');
  assert.is(new Set(events.map((e) => e.eventId)).size, 252);

  const exported = await fetch(`${harness.api.url}/admin/coupons/${couponId}/events?format=ndjson`, { headers: { authorization: `Bearer ${await harness.token('admin', 'admin')}` } });
  assert.is(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /application\/x-ndjson/);
  const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l) as { eventId: string; offset: number });
  assert.equal(lines.map((l) => [l.offset, l.eventId]), events.map((e) => [e.offset, e.eventId]), 'the export is the pages, in order');
});

history('given an unreadable message under a coupon\'s key, then its history and a restore of it read every other event', async () => {
  const { kafka, config } = harness.runtime;
  const couponId = await harness.createCoupon({ totalQuantity: 10 });
  await issueMany(harness, couponId, ['unread-a', 'unread-b']);
  await harness.drained(couponId);
  const producer = await kafka.producer();
  await producer.append(config.kafka.topic, [{ key: couponId, value: '{"type":"CouponIssued","not":"an event"}' }]);
  await producer.close();
  await issueMany(harness, couponId, ['unread-c']);
  await harness.drained(couponId);
  await harness.projected(60_000, ['coupon', 'issued_coupon', 'coupon_history']);
  const events = (await allPages(couponId, 100)).flatMap((p) => p.items);
  assert.equal(events.map((e) => e.type), ['CouponCreated', 'CouponIssued', 'CouponIssued', 'CouponIssued']);
  const rebuilt = await new AdmissionRecovery(logAndStores(harness.runtime)).rebuild([couponId]);
  assert.equal([...rebuilt.get(couponId)!.state.holders.keys()].sort(), ['unread-a', 'unread-b', 'unread-c']);
});

history('after a hundred history reads, single-coupon restores and audits, the broker lists no consumer group the platform did not mean to keep', async () => {
  const { kafka, config } = harness.runtime;
  const kept = (group: string) => /^(projector|notifier)\.test\.[\w.-]+$/.test(group);
  const before = new Set(await kafka.groupIds());
  const coupons = await Promise.all(Array.from({ length: 5 }, () => harness.createCoupon({ totalQuantity: 20 })));
  for (const couponId of coupons) await issueMany(harness, couponId, Array.from({ length: 10 }, (_, i) => `g-${couponId.slice(-6)}-${i}`));
  for (const couponId of coupons) await harness.drained(couponId);
  const recovery = new AdmissionRecovery(logAndStores(harness.runtime));
  for (let i = 0; i < 100; i++) {
    const couponId = coupons[i % coupons.length]!;
    const page = await allPages(couponId, 7);
    assert.is(page.flatMap((p) => p.items).length, 11);
    await recovery.restore([couponId]);
    if (i % 25 === 0) await harness.audit(couponId);
  }
  const stray = (await kafka.groupIds()).filter((g) => !before.has(g) && !kept(g));
  assert.equal(stray, [], `groups left behind: ${stray.join(', ')}`);
  assert.ok([...before, ...(await kafka.groupIds())].includes(`projector.${config.kafka.topic}`), 'the projector\'s own group is there');
});

history.run();
