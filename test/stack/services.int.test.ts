import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { eventLogTopics } from '../../src/kafka/topics.ts';
import { closeRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { spec } from '../support/spec.ts';
import { openTestRuntime } from '../support/test-runtime.ts';

async function servicesUp(): Promise<Runtime> {
  const runtime = await openTestRuntime();
  await migrateToLatest(runtime.db);
  await runtime.kafka.ensureTopics(eventLogTopics(runtime.config));
  return runtime;
}

const services = spec('real services', servicesUp, closeRuntime);

services('redis runs a Lua script atomically and answers with what it computed', async ({ redis }) => {
  const key = `{test:${randomUUID()}}:counter`;
  const script = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]); return {n, redis.call('TYPE', KEYS[1])['ok']}";
  assert.equal(await redis.eval(script, 1, key, 5), [5, 'string']);
  assert.equal(await redis.eval(script, 1, key, 7), [12, 'string']);
  await redis.del(key);
});

services('mysql writes and reads a read-model row through kysely, times in UTC to the millisecond', async ({ db }) => {
  const id = randomUUID();
  const at = new Date('2026-12-01T09:00:00.123Z');
  await db
    .insertInto('coupon')
    .values({
      id, name: 'Black Friday 10%', discount_type: 'PERCENT', discount_value: 10, total_quantity: 1000,
      issue_start_at: at, issue_end_at: at, valid_from: at, valid_until: at, status: 'ACTIVE', created_at: at, last_event_at: at,
    })
    .execute();
  const row = await db.selectFrom('coupon').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.is(row.name, 'Black Friday 10%');
  assert.is(row.discount_value, '10.00');
  assert.is(row.issued_count, 0);
  assert.is(row.issue_start_at.toISOString(), '2026-12-01T09:00:00.123Z');
  await db.deleteFrom('coupon').where('id', '=', id).execute();
});

services('migrations are safe to run twice', async ({ db }) => {
  assert.equal(await migrateToLatest(db), []);
});

services('kafka: a message produced is consumed back, key and value intact (on a probe topic, never the event log)', async ({ kafka, config }) => {
  const topic = `${config.kafka.topic}.probe`;
  await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, minInSyncReplicas: 1, keepForever: false }]);
  try {
    const producer = await kafka.producer();
    const key = randomUUID();
    const value = JSON.stringify({ probe: key });
    const [appended] = await producer.append(topic, [{ key, value }]);
    await producer.close();
    assert.ok(appended, 'the broker acknowledged the message');
    const read = await kafka.readToEnd(topic, appended.partition, BigInt(appended.offset));
    assert.equal(read.map((m) => [m.key, m.value, m.offset]), [[key, value, appended.offset]]);
  } finally {
    await kafka.deleteTopics([topic]);
  }
});

services('the event log is kept forever, with the configured partitions', async ({ kafka, config }) => {
  const topicConfig = await kafka.topicConfig(config.kafka.topic);
  assert.is(topicConfig['retention.ms'], '-1');
  assert.is(topicConfig['retention.bytes'], '-1');
  assert.is(await kafka.partitionCount(config.kafka.topic), config.kafka.partitions);
});

services('start-up refuses an event log topic that would forget events', async ({ kafka }) => {
  const topic = `finite-${randomUUID()}`;
  await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, minInSyncReplicas: 1, keepForever: false }]);
  try {
    await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, minInSyncReplicas: 1, keepForever: true }]);
    assert.unreachable('a finite-retention event log was accepted');
  } catch (error) {
    assert.match((error as Error).message, /must be kept forever/);
  } finally {
    await kafka.deleteTopics([topic]);
  }
});

services('start-up refuses an event log topic with fewer copies than configured', async ({ kafka }) => {
  const topic = `weak-${randomUUID()}`;
  await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 1, minInSyncReplicas: 1, keepForever: true }]);
  try {
    await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: 3, minInSyncReplicas: 2, keepForever: true }]);
    assert.unreachable('a topic with one copy was accepted where three are configured');
  } catch (error) {
    assert.match((error as Error).message, /weaker than configured: replication factor 1 \(configured: 3\); min\.insync\.replicas=1 \(configured: 2\)/);
  } finally {
    await kafka.deleteTopics([topic]);
  }
});

services.run();
