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

restart.run();
