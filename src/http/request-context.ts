import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log/logger.ts';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Gives every request an id (the caller's X-Request-Id when it is sane) and a logger that carries it. */
export function requestContext(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const given = ctx.get('x-request-id');
    const requestId = CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    const started = performance.now();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ reqId: requestId });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const line = { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) };
      if (ctx.status >= 500) ctx.state.log.warn(line, 'request failed');
      else ctx.state.log.debug(line, 'request');
    }
  };
}
