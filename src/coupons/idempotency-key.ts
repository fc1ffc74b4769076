import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { internalRequest, type AdmissionRequest } from '../idempotency/admission-request.ts';
import { Problem } from '../http/problem.ts';

const KEY = /^[\x21-\x7e]{1,200}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * `Idempotency-Key`: the same caller, key, route and body gets the first successful answer again (marked
 * `Idempotent-Replayed: true`); the same key with another request is 422. The key is remembered by the
 * decision itself, in the same atomic step, so there is no moment when a decision is made and its key is not.
 */
export function admissionRequestOf(ctx: Context, callerId: string, rawBody = ''): AdmissionRequest {
  if (ctx.headers['idempotency-key'] === undefined) return internalRequest();
  const key = ctx.get('idempotency-key');
  if (!KEY.test(key)) {
    throw new Problem('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 200 visible ASCII characters', {
      errors: [{ path: 'header.Idempotency-Key', message: 'Invalid format' }],
    });
  }
  return { requestId: sha256(`${callerId}\n${key}`), fingerprint: sha256(`${ctx.method} ${ctx.path}\n${rawBody}`), keyed: true };
}

/** Marks an answer that repeats the first one for the client's key. */
export function markReplayed(ctx: Context, request: AdmissionRequest, replayed: boolean): void {
  if (replayed && request.keyed) ctx.set('Idempotent-Replayed', 'true');
}
