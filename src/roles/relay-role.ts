import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { connectRedis } from '../redis/redis-client.ts';
import { OutboxRelay } from '../relay/outbox-relay.ts';
import { ShardLeases } from '../relay/shard-leases.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { RunningRole } from './role.ts';

export interface RunningRelay extends RunningRole {
  relay: OutboxRelay;
}

export async function startRelay(runtime: Runtime): Promise<RunningRelay> {
  const { config, redis, kafka, logger } = runtime;
  const reader = await connectRedis(config.redisUrl);
  const relay = new OutboxRelay({
    redis,
    reader,
    leases: new ShardLeases(redis, `${hostname()}:${process.pid}:${randomUUID()}`, config.admission.shards, 6_000),
    openProducer: () => kafka.producer(),
    topic: config.kafka.topic,
    batchSize: config.relay.batchSize,
    lingerMs: config.relay.lingerMs,
    logger: logger.child({ role: 'relay' }),
  });
  const running = relay.run();
  return {
    name: 'relay',
    relay,
    stop: async () => {
      relay.stop();
      await running;
      await reader.quit().catch(() => undefined);
    },
  };
}
