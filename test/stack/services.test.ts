import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { eventLogTopics } from '../../src/kafka/topics.ts';
import { closeRuntime } from '../../src/runtime/runtime.ts';
import { openTestRuntime } from '../support/test-runtime.ts';

const runtime = await openTestRuntime();
await migrateToLatest(runtime.db);
await runtime.kafka.ensureTopics(eventLogTopics(runtime.config));

const services = suite('real services');
services.after(() => closeRuntime(runtime));

services('redis runs a Lua script atomically and answers with what it computed', async () => {
  const key = `{test:${randomUUID()}}:counter`;
  const script = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]); return {n, redis.call('TYPE', KEYS[1])['ok']}";
  const first = await runtime.redis.eval(script, 1, key, 5);
  const second = await runtime.redis.eval(script, 1, key, 7);
  assert.equal(first, [5, 'string']);
  assert.equal(second, [12, 'string']);
  await runtime.redis.del(key);
});

services('mysql writes and reads a read-model row through kysely, times in UTC to the millisecond', async () => {
  const id = randomUUID();
  const at = new Date('2026-12-01T09:00:00.123Z');
  await runtime.db
    .insertInto('coupon')
    .values({
      id, name: 'Black Friday 10%', discount_type: 'PERCENT', discount_value: 10, total_quantity: 1000,
      issue_start_at: at, issue_end_at: at, valid_from: at, valid_until: at, status: 'ACTIVE', created_at: at, last_event_at: at,
    })
    .execute();
  const row = await runtime.db.selectFrom('coupon').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.name, 'Black Friday 10%');
  assert.is(row.discount_value, '10.00');
  assert.is(row.issued_count, 0);
  assert.is(row.issue_start_at.toISOString(), '2026-12-01T09:00:00.123Z');
  await runtime.db.deleteFrom('coupon').where('id', '=', id).execute();
});

services('migrations are safe to run twice', async () => {
  assert.equal(await migrateToLatest(runtime.db), []);
});

services('kafka: a message produced to coupon.events is consumed back, key and value intact', async () => {
  const topic = runtime.config.kafka.topic;
  const producer = await runtime.kafka.producer();
  const key = randomUUID();
  const value = JSON.stringify({ probe: key });
  const [appended] = await producer.append(topic, [{ key, value }]);
  await producer.close();
  assert.ok(appended, 'the broker acknowledged the message');
  const read = await runtime.kafka.readPartition(topic, appended.partition, appended.offset, (m) => m.key === key, 20_000);
  const found = read.find((m) => m.key === key);
  assert.ok(found);
  assert.is(found.value, value);
  assert.is(found.offset, appended.offset);
});

services('coupon.events is kept forever, with the configured partitions', async () => {
  const config = await runtime.kafka.topicConfig(runtime.config.kafka.topic);
  assert.is(config['retention.ms'], '-1');
  assert.is(config['retention.bytes'], '-1');
  assert.is(await runtime.kafka.partitionCount(runtime.config.kafka.topic), runtime.config.kafka.partitions);
});

services('start-up refuses an event log topic that would forget events', async () => {
  const topic = `finite-${randomUUID()}`;
  await runtime.kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, keepForever: false }]);
  try {
    await runtime.kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, keepForever: true }]);
    assert.unreachable('a finite-retention event log was accepted');
  } catch (error) {
    assert.match((error as Error).message, /must be kept forever/);
  } finally {
    await runtime.kafka.deleteTopics([topic]);
  }
});

services.run();
