import Router from '@koa/router';
import { Problem } from '../http/problem.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { checkDependencies, downDependencies } from './dependency-health.ts';

export function healthRoutes(runtime: Runtime): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks = await checkDependencies(runtime);
    const down = downDependencies(checks);
    if (down.length > 0) {
      throw new Problem('DEPENDENCY_UNAVAILABLE', `Unreachable: ${down.join(', ')}`, { down, checks });
    }
    ctx.body = { status: 'ready', checks };
  });
  return router;
}
