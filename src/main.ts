import './runtime/pinned-node.ts';
import { ConfigError, loadConfig, type Config } from './config/config.ts';
import { migrateToLatest } from './db/migrate.ts';
import { waitForDependencies } from './health/dependency-health.ts';
import { startOpsServer } from './health/ops-server.ts';
import { eventLogTopics } from './kafka/topics.ts';
import { createLogger } from './log/logger.ts';
import { metricsRoute } from './health/metrics-routes.ts';
import { assertSafeForAdmission } from './redis/redis-client.ts';
import { startRoles } from './roles/start-roles.ts';
import { exitOnStrayFailures } from './runtime/crash-policy.ts';
import { closeRuntime, openRuntime } from './runtime/runtime.ts';
import { resolveConfig } from './stack/resolve-config.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\nSee README.md "Configuration" for every variable and its default.\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel, undefined, config.logFormat);
exitOnStrayFailures(logger);
try {
  const resolved = await resolveConfig(config, 'dev', (line) => logger.info(`local stack: ${line}`));
  const runtime = await openRuntime(resolved, logger);
  await waitForDependencies(runtime, 60_000);
  if (resolved.roles.includes('api')) await assertSafeForAdmission(runtime.redis, resolved.admission, logger);
  const applied = await migrateToLatest(runtime.db);
  if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.migrationName) }, 'migrated');
  await runtime.kafka.ensureTopics(eventLogTopics(resolved));
  const running = await startRoles(resolved.roles, runtime);
  const api = running.find((r) => 'url' in r) as { url: string } | undefined;
  const ops = !api && resolved.metricsPort !== undefined ? await startOpsServer(runtime, resolved.metricsPort, [metricsRoute]) : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, resolved.shutdownTimeoutMs);
    timer.unref();
    try {
      // The API stops first so no new work arrives while the workers drain.
      for (const role of [...running].reverse()) await role.stop();
      await ops?.stop();
      await closeRuntime(runtime);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // Printed only once the signal handlers are in place: whoever waits for this line may stop us right away.
  const url = api?.url ?? ops?.url;
  process.stdout.write(`Coupon platform running roles [${resolved.roles.join(', ')}]${url ? ` at ${url}` : ''}\n`);
  if (api) process.stdout.write(`  live dashboard: ${api.url}/admin/dashboard (sign in with: npm run --silent token -- --sub you --admin)\n`);
} catch (error) {
  logger.fatal({ err: error }, 'start-up failed');
  process.exit(1);
}
