import type { ResolvedConfig } from '../config/config.ts';
import { connectDatabase, type Db } from '../db/database.ts';
import { KafkaClient } from '../kafka/kafka-client.ts';
import type { Logger } from '../log/logger.ts';
import { connectRedis, type Redis, type RedisTarget } from '../redis/redis-client.ts';
import { Liveness } from './liveness.ts';
import { PersonalData } from '../privacy/personal-data.ts';
import { PersonKeys } from '../privacy/person-keys.ts';

/** The clients one process shares across its roles. */
export interface Runtime {
  config: ResolvedConfig;
  logger: Logger;
  redis: Redis;
  db: Db;
  kafka: KafkaClient;
  /** Seals and opens the personal fields of events, and erases a person (src/privacy). */
  personal: PersonalData;
  /** The worker loops of this process, for /readyz. */
  liveness: Liveness;
}

/** The Redis a config names: its cluster when cluster nodes are set, else its one Redis. */
export const redisTarget = (config: ResolvedConfig): RedisTarget => ({ url: config.redisUrl, clusterNodes: config.redisClusterNodes });

export async function openRuntime(config: ResolvedConfig, logger: Logger): Promise<Runtime> {
  const redis = await connectRedis(redisTarget(config), config.redis, logger.child({ component: 'redis' }));
  const db = connectDatabase(config.mysqlUrl);
  // Events are sealed as they are written and opened as they are read: erasing a person deletes their key.
  const personal = new PersonalData(new PersonKeys(db));
  const kafka = new KafkaClient({ brokers: config.kafka.brokers, clientId: config.kafka.clientId }, logger, personal);
  return { config, logger, redis, db, kafka, personal, liveness: new Liveness(config.liveness.stallMs) };
}

export async function closeRuntime(runtime: Runtime): Promise<void> {
  await Promise.allSettled([runtime.kafka.close(), runtime.db.destroy(), runtime.redis.quit()]);
}

/** What tools that read the log and both stores need: the audit and admission recovery. */
export interface LogAndStores {
  redis: Redis;
  db: Db;
  kafka: KafkaClient;
  topic: string;
  partitions: number;
  shards: number;
  logger: Logger;
}

export const logAndStores = (runtime: Runtime): LogAndStores => ({
  redis: runtime.redis,
  db: runtime.db,
  kafka: runtime.kafka,
  topic: runtime.config.kafka.topic,
  partitions: runtime.config.kafka.partitions,
  shards: runtime.config.admission.shards,
  logger: runtime.logger,
});
