import type { Config, ResolvedConfig } from '../config/config.ts';
import { ensureDatabase } from '../db/recreate-database.ts';
import { devJwtSecret, ensureLocalStack, type StackProfile } from './local-stack.ts';
import type { StackPart } from './services.ts';

/**
 * Fills in what the operator left unset: endpoints from the local stack (started on demand) and,
 * outside production, a development signing key kept with the stack.
 */
export async function resolveConfig(config: Config, profile: StackProfile, log: (line: string) => void): Promise<ResolvedConfig> {
  const missing: StackPart[] = [];
  if (!config.redisUrl && !config.redisClusterNodes) missing.push('redis');
  if (!config.mysqlUrl) missing.push('mysql');
  if (!config.kafka.brokers) missing.push('kafka');
  const local = missing.length > 0 ? await ensureLocalStack(config.stackDir, profile, log, missing, config.topology) : undefined;
  // Each topology has a database of its own on the one local MariaDB, which may be older than the database.
  if (local && missing.includes('mysql')) await ensureDatabase(local.mysqlUrl);
  const secret = config.jwt.secret ?? (config.jwt.jwksUrl ? undefined : devJwtSecret(config.stackDir));
  return {
    ...config,
    redisUrl: config.redisUrl ?? local?.redisUrl ?? '',
    redisClusterNodes: config.redisClusterNodes ?? (config.redisUrl ? undefined : local?.redisClusterNodes),
    mysqlUrl: config.mysqlUrl ?? local!.mysqlUrl,
    kafka: { ...config.kafka, brokers: config.kafka.brokers ?? local!.kafkaBrokers },
    jwt: { ...config.jwt, secret },
  };
}
