import type { Context } from 'koa';
import { Problem } from './problem.ts';
import { requestBody } from './request-body.ts';

export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Reads a JSON body: 415 if it is not JSON, 413 past 64 KiB (before reading it when Content-Length
 * says so), 408 when it is not all there within the body timeout, 400 VALIDATION_FAILED when it does not
 * parse. An empty body reads as `{}`.
 */
export async function readJsonBody(ctx: Context): Promise<{ value: unknown; raw: string }> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > BODY_LIMIT_BYTES) throw new Problem('PAYLOAD_TOO_LARGE', `The body may be at most ${BODY_LIMIT_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of requestBody(ctx, true)) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) {
      ctx.req.unpipe();
      ctx.set('Connection', 'close');
      throw new Problem('PAYLOAD_TOO_LARGE', `The body may be at most ${BODY_LIMIT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw.trim() === '') return { value: {}, raw: '' };
  if (!ctx.is('application/json', 'application/*+json')) throw new Problem('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
  try {
    return { value: JSON.parse(raw) as unknown, raw };
  } catch {
    throw new Problem('VALIDATION_FAILED', 'The body is not valid JSON', { errors: [{ path: '', message: 'Malformed JSON' }] });
  }
}
