import Router from '@koa/router';
import { Problem } from '../http/problem.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { checkDependencies, downDependencies } from './dependency-health.ts';

/** `/healthz`: the process is up. `/readyz`: its dependencies answer and none of its worker loops is stuck. */
export function healthRoutes(runtime: Runtime): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks = await checkDependencies(runtime);
    const down = downDependencies(checks);
    const stuck = runtime.liveness.stuck();
    if (down.length > 0) {
      throw new Problem('DEPENDENCY_UNAVAILABLE', `Unreachable: ${down.join(', ')}`, { down, checks, stuck });
    }
    if (stuck.length > 0) {
      throw new Problem('LOOP_STUCK', `Not moving: ${stuck.map((s) => `${s.loop} for ${Math.round(s.stillForMs / 1000)} s`).join(', ')}`, { stuck, checks });
    }
    ctx.body = { status: 'ready', checks };
  });
  return router;
}
