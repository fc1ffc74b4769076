import type { Context } from 'koa';
import { Problem } from './problem.ts';

/** How long a request body may take (a JSON body in all; a streamed upload between two of its bytes); set with the app. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

const timeoutOf = (ctx: Context): number => (ctx.app.context as { bodyTimeoutMs?: number }).bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;

/**
 * The request body as it arrives. A body that stops coming for the body timeout (or, with `whole`, is not all
 * there within it) is answered 408 and the connection closed: a client holding a request open costs a socket,
 * but a large upload on a slow uplink that keeps sending is never cut for taking long.
 */
export async function* requestBody(ctx: Context, whole = false): AsyncGenerator<Buffer> {
  const timeoutMs = timeoutOf(ctx);
  const started = Date.now();
  const chunks = (ctx.req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const wait = whole ? timeoutMs - (Date.now() - started) : timeoutMs;
    const next = await Promise.race([
      chunks.next(),
      new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, wait)))),
    ]).finally(() => clearTimeout(timer));
    if (next === 'late') {
      ctx.req.pause();
      ctx.set('Connection', 'close');
      throw new Problem('REQUEST_TIMEOUT', whole ? `The body did not arrive within ${timeoutMs} ms` : `The body stopped arriving for ${timeoutMs} ms`);
    }
    if (next.done) return;
    yield next.value;
  }
}
