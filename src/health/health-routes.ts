import Router from '@koa/router';
import { Problem } from '../http/problem.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { checkDependencies, downDependencies } from './dependency-health.ts';
import { outboxDepth, type OutboxDepth } from './outbox-depth.ts';

/**
 * `/healthz`: the process is up. `/readyz`: its dependencies answer and none of its worker loops is stuck;
 * 200 `degraded` when an outbox shard is at its bound: reads and answers that change nothing still work, so
 * the process stays in rotation, but its coupons' changes answer 503 until the relay catches up.
 */
export function healthRoutes(runtime: Runtime): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks = await checkDependencies(runtime);
    const down = downDependencies(checks);
    const stuck = runtime.liveness.stuck();
    const outbox = checks.redis.up ? await readOutbox(runtime) : undefined;
    const degraded = outbox && outbox.full.length > 0
      ? [`outbox shard${outbox.full.length > 1 ? 's' : ''} ${outbox.full.join(', ')} at the bound of ${outbox.bound} pending events: changes to their coupons answer 503 EVENT_LOG_UNAVAILABLE until the relay delivers to Kafka`]
      : [];
    if (down.length > 0) {
      throw new Problem('DEPENDENCY_UNAVAILABLE', `Unreachable: ${down.join(', ')}`, { down, checks, stuck, outbox, degraded });
    }
    if (stuck.length > 0) {
      throw new Problem('LOOP_STUCK', `Not moving: ${stuck.map((s) => `${s.loop} for ${Math.round(s.stillForMs / 1000)} s`).join(', ')}`, { stuck, checks, outbox, degraded });
    }
    ctx.body = { status: degraded.length > 0 ? 'degraded' : 'ready', checks, outbox, ...(degraded.length > 0 ? { degraded } : {}) };
  });
  return router;
}

async function readOutbox(runtime: Runtime): Promise<OutboxDepth | undefined> {
  const { shards, outboxMaxEntries } = runtime.config.admission;
  try {
    return await outboxDepth(runtime.redis, shards, outboxMaxEntries);
  } catch {
    return undefined;
  }
}
