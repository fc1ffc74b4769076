import type { Db } from '../../db/database.ts';
import { issuedCouponStatus, type IssuedCouponStatus } from '../rules/coupon-rules.ts';

export interface Holder {
  issuedCouponId: string;
  userId: string;
  status: IssuedCouponStatus;
  issuedAt: string;
  usedAt: string | null;
  orderId: string | null;
}

const BATCH = 2_000;

/**
 * Every holder of a coupon from the issued_coupon read model, in issue order, a batch at a time: issued
 * coupon ids are `<couponId>.<sequence>`, so each batch is one range of the primary key, and memory holds one
 * batch however many holders there are.
 */
export async function* couponHolderBatches(db: Db, couponId: string, now = new Date()): AsyncGenerator<Holder[]> {
  let after = `${couponId}.`;
  for (;;) {
    const rows = await db.selectFrom('issued_coupon')
      .select(['id', 'user_id', 'status', 'issued_at', 'used_at', 'order_id', 'valid_until'])
      .where('id', '>', after).where('id', '<', `${couponId}/`).where('coupon_id', '=', couponId)
      .orderBy('id').limit(BATCH).execute();
    if (rows.length > 0) {
      yield rows.map((r) => ({
        issuedCouponId: r.id, userId: r.user_id, status: issuedCouponStatus({ status: r.status, validUntil: r.valid_until }, now),
        issuedAt: r.issued_at.toISOString(), usedAt: r.used_at?.toISOString() ?? null, orderId: r.status === 'USED' ? r.order_id : null,
      }));
    }
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}

const CSV_COLUMNS = ['issuedCouponId', 'userId', 'status', 'issuedAt', 'usedAt', 'orderId'] as const;

/**
 * One CSV cell: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-`, `@`, tab or CR is
 * defused with a quote mark, so a spreadsheet opening the export never runs a user id as a formula.
 */
function csvCell(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One chunk per batch: a few hundred kilobytes written at a time, not a write per holder. */
export async function* holdersCsv(batches: AsyncIterable<Holder[]>): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for await (const batch of batches) yield batch.map((h) => `${CSV_COLUMNS.map((c) => csvCell(h[c])).join(',')}\r\n`).join('');
}

/** A JSON array written as it is read: `[` first, one holder per line, `]` last. */
export async function* holdersJson(batches: AsyncIterable<Holder[]>): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const batch of batches) {
    yield batch.map((h) => {
      const line = `${first ? '\n' : ',\n'}${JSON.stringify(h)}`;
      first = false;
      return line;
    }).join('');
  }
  yield '\n]\n';
}
