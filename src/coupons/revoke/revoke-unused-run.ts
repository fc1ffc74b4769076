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
 *
 * A coupon split into stock buckets keeps each holder in their home bucket: the run goes through the buckets one
 * after another, each with its own first chunk and its own revoked total; the answer is their sum.
 */
export async function revokeUnused(admission: AdmissionStore, couponId: string, meta: EventMeta, request: AdmissionRequest): Promise<RevokeUnusedResult> {
  const closed = await admission.close(couponId, uuidv7(), meta, request);
  if (closed.outcome === 'COUPON_NOT_FOUND' || closed.outcome === 'IDEMPOTENCY_KEY_REUSED') return { outcome: closed.outcome };
  let revokedCount = 0;
  for (const bucket of await admission.heldBuckets(couponId)) {
    const revoked = await revokeBucket(admission, couponId, bucket, meta);
    if (revoked === undefined) return { outcome: 'COUPON_NOT_FOUND' };
    revokedCount += revoked;
  }
  return { outcome: 'REVOKED', revokedCount };
}

/** The holders of one bucket (of a coupon not split, all of them) revoked; answers the bucket's revoked total. */
async function revokeBucket(admission: AdmissionStore, couponId: string, bucket: number, meta: EventMeta): Promise<number | undefined> {
  // The first chunk, even an empty one, puts revoke-unused in force (and in the log) before any holder is read.
  const first = await admission.revokeChunk(couponId, [], meta, bucket);
  if (first.outcome === 'COUPON_NOT_FOUND') return undefined;
  let revokedCount = first.revokedCount;
  let cursor = '0';
  do {
    const page = await admission.holdersPage(couponId, cursor, REVOKE_CHUNK, bucket);
    cursor = page.next;
    for (const chunk of chunks(page.holders, REVOKE_CHUNK)) {
      const decided = await admission.revokeChunk(couponId, chunk, meta, bucket);
      if (decided.outcome === 'COUPON_NOT_FOUND') return undefined;
      revokedCount = decided.revokedCount;
    }
  } while (cursor !== '0');
  return revokedCount;
}
