import type Router from '@koa/router';
import { Redis } from 'ioredis';
import { requireAdmin } from '../../src/auth/authenticate.ts';
import { loadConfig, type ResolvedConfig } from '../../src/config/config.ts';
import { connectDatabase } from '../../src/db/database.ts';
import type { AuthLevel, Route } from '../../src/http/route.ts';
import { KafkaClient } from '../../src/kafka/kafka-client.ts';
import { createLogger } from '../../src/log/logger.ts';
import { apiRouter, apiRoutes } from '../../src/roles/api-role.ts';
import { Liveness } from '../../src/runtime/liveness.ts';
import { PersonalData } from '../../src/privacy/personal-data.ts';
import { PersonKeys } from '../../src/privacy/person-keys.ts';

export interface ServedRoute {
  method: string;
  path: string;
  /** Read from the middleware the router runs before the handler. */
  auth: AuthLevel;
}

/** Endpoints no client here ever reaches: the runner's own when it set them, placeholders for the unit tier. */
const config = (): ResolvedConfig => loadConfig({
  REDIS_URL: 'redis://127.0.0.1:1', MYSQL_URL: 'mysql://none:none@127.0.0.1:1/none', KAFKA_BROKERS: '127.0.0.1:1', ...process.env,
}) as ResolvedConfig;

/**
 * The API's route list and router, built over clients that never connect, so tests can read them (and declare
 * tests per route) before any service is reached.
 */
export async function withApiRouter<T>(use: (routes: Route[], router: Router) => T | Promise<T>): Promise<T> {
  const resolved = config();
  const redis = new Redis({ lazyConnect: true });
  const db = connectDatabase(resolved.mysqlUrl);
  const logger = createLogger('silent');
  try {
    const kafka = new KafkaClient({ brokers: resolved.kafka.brokers, clientId: 'routes' }, logger);
    const personal = new PersonalData(new PersonKeys(db));
    const runtime = { config: resolved, logger, redis, db, kafka, personal, liveness: new Liveness(resolved.liveness.stallMs) };
    const routes = apiRoutes(runtime);
    return await use(routes, apiRouter(runtime, routes));
  } finally {
    redis.disconnect();
    await db.destroy();
  }
}

const authOf = (layer: Router['stack'][number]): AuthLevel =>
  layer.stack.includes(requireAdmin as never) ? 'admin' : layer.stack.some((fn) => fn.name === 'authenticated') ? 'token' : 'public';

/** Every method and path the API's router serves, with the auth its middleware asks for. */
export const servedRoutes = (): Promise<ServedRoute[]> => withApiRouter((_, router) =>
  router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method, path: String(layer.path), auth: authOf(layer) }))));
