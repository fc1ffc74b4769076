import type { AdmissionStore, AllowListResult, EventMeta } from '../admission/admission-store.ts';
import { uuidv7 } from '../../ids/ids.ts';

/**
 * Replaces the coupon's allow-list with the ids `chunks` yields (each at most 1,000; read one at a time, so a
 * list of millions is never held), atomically at the end: until then the old list is in force, and a list
 * cut short (the source failed) never comes into force.
 */
export async function replaceAllowList(admission: AdmissionStore, couponId: string, ids: AsyncIterable<string[]>, meta: EventMeta): Promise<AllowListResult> {
  const uploadId = uuidv7();
  const [begun, version] = await admission.allowListStep(couponId, { step: 'begin', uploadId }, meta);
  if (begun !== 'BEGUN') return { outcome: 'COUPON_NOT_FOUND' };
  for await (const userIds of ids) {
    if (userIds.length === 0) continue;
    const [added] = await admission.allowListStep(couponId, { step: 'add', uploadId, version: version!, userIds }, meta);
    if (added !== 'ADDED') return { outcome: added as 'COUPON_NOT_FOUND' | 'UPLOAD_SUPERSEDED' };
  }
  const [outcome, size] = await admission.allowListStep(couponId, { step: 'commit', uploadId, version: version! }, meta);
  return outcome === 'REPLACED' ? { outcome, version: Number(version), size: Number(size) } : { outcome: outcome as 'COUPON_NOT_FOUND' | 'UPLOAD_SUPERSEDED' };
}

/** No allow-list from now on: anyone may be issued the coupon (required claims still apply). */
export async function removeAllowList(admission: AdmissionStore, couponId: string, meta: EventMeta): Promise<{ outcome: 'REMOVED' | 'COUPON_NOT_FOUND' }> {
  const [outcome] = await admission.allowListStep(couponId, { step: 'remove' }, meta);
  return { outcome: outcome as 'REMOVED' | 'COUPON_NOT_FOUND' };
}
