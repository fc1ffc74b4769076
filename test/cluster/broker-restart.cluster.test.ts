import * as assert from 'uvu/assert';
import { closeRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { spec } from '../support/spec.ts';
import { startService, stopService } from '../support/stack-control.ts';
import { openTestRuntime } from '../support/test-runtime.ts';

let runtime!: Runtime;
const restart = spec('the event log across a broker restart', async () => (runtime = await openTestRuntime()), async () => closeRuntime(runtime));

/**
 * Numbered messages on many keys (so each send spans partitions led by different brokers) sent through the
 * producer the relay uses while one broker stops and starts again; then every partition is read back.
 */
async function produceAcross(broker: string, topic: string): Promise<{ acknowledged: number[]; failures: number; missing: number[] }> {
  await runtime.kafka.ensureTopics([{ topic, partitions: 6, replicationFactor: 3, minInSyncReplicas: 2, keepForever: true }]);
  let producer = await runtime.kafka.producer();
  const acknowledged: number[] = [];
  let next = 0;
  let failures = 0;
  let stopping = false;
  const sending = (async () => {
    while (!stopping) {
      const batch = Array.from({ length: 5 }, () => next++);
      try {
        await producer.append(topic, batch.map((n) => ({ key: `key-${n % 7}`, value: String(n) })));
        acknowledged.push(...batch);
      } catch {
        failures++;
        await producer.close().catch(() => undefined);
        producer = await runtime.kafka.producer();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise((r) => setTimeout(r, 2_000));
  await stopService(broker);
  await startService(broker);
  await new Promise((r) => setTimeout(r, 4_000));
  stopping = true;
  await sending;
  await producer.close();
  const inLog = new Set<number>();
  for (let partition = 0; partition < 6; partition++) {
    for (const message of await runtime.kafka.readToEnd(topic, partition, 0n)) inLog.add(Number(message.value));
  }
  return { acknowledged, failures, missing: acknowledged.filter((n) => !inLog.has(n)) };
}

restart('given sends spanning partitions while each broker in turn restarts, then every acknowledged message is in the log (kafkajs alone dropped a moved partition\'s messages and answered acknowledged)', async () => {
  for (const broker of ['kafka-1', 'kafka-2', 'kafka-3']) {
    const { acknowledged, failures, missing } = await produceAcross(broker, `${runtime.config.kafka.topic}.restart-${broker}`);
    assert.ok(acknowledged.length > 500, `${broker}: only ${acknowledged.length} acknowledged (${failures} failed sends)`);
    assert.equal(missing, [], `${broker}: ${missing.length} of ${acknowledged.length} acknowledged messages are not in the log`);
  }
});

restart('given reads of every partition up to its end, over and over while a broker restarts, then each read brings every record below the end it was given (they stopped short when a new leader answered below it)', async () => {
  const topic = `${runtime.config.kafka.topic}.reads`;
  await runtime.kafka.ensureTopics([{ topic, partitions: 6, replicationFactor: 3, minInSyncReplicas: 2, keepForever: true }]);
  const producer = await runtime.kafka.producer();
  let stopping = false;
  let next = 0;
  const short: string[] = [];
  let reads = 0;
  const writing = (async () => {
    while (!stopping) {
      await producer.append(topic, Array.from({ length: 6 }, () => ({ key: `key-${next % 11}`, value: String(next++) }))).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const reading = (async () => {
    while (!stopping) {
      for (let partition = 0; partition < 6; partition++) {
        const end = await runtime.kafka.endOffset(topic, partition).catch(() => undefined);
        if (end === undefined) continue;
        let last = -1n;
        for await (const messages of runtime.kafka.read(topic, partition, 0n, end)) for (const m of messages) last = BigInt(m.offset);
        reads++;
        if (last + 1n < end) short.push(`partition ${partition}: read to ${last + 1n} of ${end}`);
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 2_000));
  await stopService('kafka-2');
  await startService('kafka-2');
  await new Promise((r) => setTimeout(r, 5_000));
  stopping = true;
  await Promise.all([writing, reading]);
  await producer.close();
  assert.ok(reads > 100, `${reads} reads`);
  assert.equal(short, [], `${short.length} of ${reads} reads stopped short`);
});

restart.run();
