import type { Db } from '../../src/db/database.ts';

const BATCH = 2_000;

/**
 * Every holder's row of a coupon in the issued_coupon read model, in issue order, a batch at a time: issued
 * coupon ids are `<couponId>.<sequence>`, so each batch is one range of the primary key, and memory holds one
 * batch however many holders there are.
 */
export async function* holderRowBatches(db: Db, couponId: string) {
  let after = `${couponId}.`;
  for (;;) {
    const rows = await db.selectFrom('issued_coupon')
      .select(['id', 'user_id', 'status', 'issued_at', 'used_at', 'order_id', 'valid_until', 'hold_until', 'hold_order_id'])
      .where('id', '>', after).where('id', '<', `${couponId}/`).where('coupon_id', '=', couponId)
      .orderBy('id').limit(BATCH).execute();
    if (rows.length > 0) yield rows;
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}
