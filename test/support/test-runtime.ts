import { loadConfig, type ResolvedConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.ts';

/** The runner (test/run.ts) puts every endpoint into the environment, so tests never start services themselves. */
export function testConfig(env: NodeJS.ProcessEnv = {}): ResolvedConfig {
  const config = loadConfig({ ...process.env, ...env });
  if (!(config.redisUrl || config.redisClusterNodes) || !config.mysqlUrl || !config.kafka.brokers) {
    throw new Error('REDIS_URL (or REDIS_CLUSTER_NODES), MYSQL_URL and KAFKA_BROKERS must be set: run the tests with `npm test`');
  }
  return { ...config, redisUrl: config.redisUrl ?? '' } as ResolvedConfig;
}

export async function openTestRuntime(env: NodeJS.ProcessEnv = {}): Promise<Runtime> {
  const config = testConfig(env);
  return openRuntime(config, createLogger(config.logLevel, 'test'));
}
