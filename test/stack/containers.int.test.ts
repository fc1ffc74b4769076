import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import * as assert from 'uvu/assert';
import { connectDatabase, pingDatabase } from '../../src/db/database.ts';
import { KafkaClient } from '../../src/kafka/kafka-client.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startContainerStack } from '../support/container-stack.ts';
import { skip, spec } from '../support/spec.ts';

const containers = spec('the Testcontainers stack, where a Docker engine answers');

containers('Redis, MariaDB and Kafka start in containers and each answers', async () => {
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 }).status !== 0) skip('docker-engine', 'no Docker engine answers on this machine');
  // A port of its own: a run on containers already holds the default one.
  const stack = await startContainerStack(39192);
  try {
    const redis = new Redis(stack.endpoints.redisUrl);
    assert.is(await redis.ping(), 'PONG');
    await redis.quit();
    const db = connectDatabase(stack.endpoints.mysqlUrl);
    await pingDatabase(db);
    await db.destroy();
    const kafka = new KafkaClient({ brokers: stack.endpoints.kafkaBrokers, clientId: 'containers-test' }, createLogger('silent'));
    await kafka.ping(10_000);
    await kafka.close();
  } finally {
    await stack.stop();
  }
});

containers.run();
