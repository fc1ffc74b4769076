import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log/logger.ts';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when it is sane). Its logger is made only when
 * something logs (see requestLog): most answers log nothing, and a child logger per request was a
 * measurable part of the issue route's cost.
 */
export function requestContext(logger: Logger) {
  const debug = logger.isLevelEnabled('debug');
  return async (ctx: Context, next: Next): Promise<void> => {
    const given = ctx.get('x-request-id');
    const requestId = CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    const started = performance.now();
    ctx.state.requestId = requestId;
    ctx.state.rootLog = logger;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      // Answered before its body was all read (a 401, a route that takes none): the connection is not kept,
      // so a client trickling an unread body holds no socket (no whole-request limit does it: request-body.ts).
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      if (ctx.status >= 500 || debug) {
        const line = { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) };
        if (ctx.status >= 500) requestLog(ctx).warn(line, 'request failed');
        else requestLog(ctx).debug(line, 'request');
      }
    }
  };
}

/** The request's logger, carrying its id. */
export function requestLog(ctx: Context): Logger {
  ctx.state.log ??= (ctx.state.rootLog as Logger).child({ reqId: ctx.state.requestId });
  return ctx.state.log as Logger;
}
