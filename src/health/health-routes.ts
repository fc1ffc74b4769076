import { Problem } from '../http/problem.ts';
import type { Route } from '../http/route.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { checkDependencies, downDependencies } from './dependency-health.ts';
import { outboxDepth, type OutboxDepth } from '../outbox/outbox.ts';

const readinessSchema = {
  type: 'object', required: ['status'],
  properties: { status: { type: 'string', enum: ['ready', 'degraded'] }, degraded: { type: 'array', items: { type: 'string' } } },
};

/**
 * `/healthz`: the process is up. `/readyz`: its dependencies answer and none of its worker loops is stuck;
 * 200 `degraded` when an outbox shard is at its bound: reads and answers that change nothing still work, so
 * the process stays in rotation, but its coupons' changes answer 503 until the relay catches up.
 */
export const healthRoutes = (runtime: Runtime): Route[] => [{
  method: 'get', path: '/healthz', auth: 'public', summary: 'The process is up', tag: 'operations',
  answer: { status: 200, schema: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } },
  handler: (ctx) => {
    ctx.body = { status: 'ok' };
  },
}, {
  method: 'get', path: '/readyz', auth: 'public', tag: 'operations',
  summary: 'Redis, MySQL and Kafka answer, and no worker loop is stuck; status `degraded` (still 200) when an outbox shard is at its bound and changes answer 503 EVENT_LOG_UNAVAILABLE',
  answer: { status: 200, schema: readinessSchema }, problems: ['DEPENDENCY_UNAVAILABLE', 'LOOP_STUCK'],
  handler: async (ctx) => {
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
  },
}];

async function readOutbox(runtime: Runtime): Promise<OutboxDepth | undefined> {
  const { shards, outboxMaxEntries } = runtime.config.admission;
  try {
    return await outboxDepth(runtime.redis, shards, outboxMaxEntries);
  } catch {
    return undefined;
  }
}
