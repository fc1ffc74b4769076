import { chunks } from '../../batching/chunks.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type { AdmissionStore, EventMeta, RevokeUnusedResult } from '../admission/admission-store.ts';
import { uuidv7 } from '../../ids/ids.ts';

const REVOKE_CHUNK = 1_000;

/**
 * Revokes every issued coupon of this one not in use. Issuing is closed first (under the caller's request
 * id, so a retry replays it), which fixes the set of holders; they are then read a page at a time and
 * revoked in chunks of at most 1,000, each one atomic decision and one CouponsRevoked event, so a use racing
 * the revoke either comes first (and its coupon stays USED) or finds it REVOKED. A chunk is safe to send
 * again, so a run cut short is finished by running it again; the answer is the coupon's revoked total.
 */
export async function revokeUnused(admission: AdmissionStore, couponId: string, meta: EventMeta, request: AdmissionRequest): Promise<RevokeUnusedResult> {
  // Before the close: a refused run changes nothing.
  await admission.notBucketed(couponId, 'Revoking unused coupons');
  const closed = await admission.close(couponId, uuidv7(), meta, request);
  if (closed.outcome === 'COUPON_NOT_FOUND' || closed.outcome === 'IDEMPOTENCY_KEY_REUSED') return { outcome: closed.outcome };
  // The first chunk, even an empty one, puts revoke-unused in force (and in the log) before any holder is read.
  const first = await admission.revokeChunk(couponId, [], meta);
  if (first.outcome === 'COUPON_NOT_FOUND') return first;
  let revokedCount = first.revokedCount;
  let cursor = '0';
  do {
    const page = await admission.holdersPage(couponId, cursor, REVOKE_CHUNK);
    cursor = page.next;
    for (const chunk of chunks(page.holders, REVOKE_CHUNK)) {
      const decided = await admission.revokeChunk(couponId, chunk, meta);
      if (decided.outcome === 'COUPON_NOT_FOUND') return decided;
      revokedCount = decided.revokedCount;
    }
  } while (cursor !== '0');
  return { outcome: 'REVOKED', revokedCount };
}
