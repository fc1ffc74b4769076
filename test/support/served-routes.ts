import { Redis } from 'ioredis';
import { connectDatabase } from '../../src/db/database.ts';
import { KafkaClient } from '../../src/kafka/kafka-client.ts';
import { createLogger } from '../../src/log/logger.ts';
import { apiRouters } from '../../src/roles/api-role.ts';
import { Liveness } from '../../src/runtime/liveness.ts';
import { testConfig } from './test-runtime.ts';

/**
 * Every method and path the API serves, read from its routers, so tests can be declared per route before
 * any service is reached: the routers are built over clients that never connect.
 */
export async function servedRoutes(): Promise<{ method: string; path: string }[]> {
  const config = testConfig();
  const redis = new Redis({ lazyConnect: true });
  const db = connectDatabase(config.mysqlUrl);
  const logger = createLogger('silent');
  try {
    const kafka = new KafkaClient({ brokers: config.kafka.brokers, clientId: 'routes' }, logger);
    return apiRouters({ config, logger, redis, db, kafka, liveness: new Liveness(config.liveness.stallMs) })
      .flatMap((router) => router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method, path: String(layer.path) }))));
  } finally {
    redis.disconnect();
    await db.destroy();
  }
}
