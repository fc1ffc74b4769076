import { couponProjection } from '../../../projections/coupon/coupon-projection.ts';
import { couponHistoryProjection } from '../../../projections/coupon-history/coupon-history-projection.ts';
import { issuedCouponProjection } from '../../../projections/issued-coupon/issued-coupon-projection.ts';
import { assertFollowsLog } from '../../projector/followed-log.ts';
import type { LogAndStores } from '../../runtime/runtime.ts';

/** What a restore trusts: the snapshot it starts from (coupon, issued_coupon) and the history index it reads one coupon through. */
const RESTORE_READS = [couponProjection.name, issuedCouponProjection.name, couponHistoryProjection.name];

/**
 * Refuses to restore Redis from read models built from another log (LogMismatchError, naming the rebuild):
 * their coupons and offsets are not this log's, and admission state made from them would admit against a
 * history nobody can replay.
 */
export async function assertRestoreFollowsLog(deps: Pick<LogAndStores, 'db' | 'kafka' | 'topic'>): Promise<void> {
  await assertFollowsLog(deps.db, deps.kafka, deps.topic, RESTORE_READS);
}
