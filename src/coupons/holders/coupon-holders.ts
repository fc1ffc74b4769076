import type { Db } from '../../db/database.ts';
import { holderRowBatches } from '../../../projections/issued-coupon/holders-query.ts';
import { issuedCouponStatus, type IssuedCouponStatus } from '../rules/coupon-rules.ts';

export interface Holder {
  issuedCouponId: string;
  userId: string;
  status: IssuedCouponStatus;
  issuedAt: string;
  usedAt: string | null;
  orderId: string | null;
}

/** Every holder of a coupon, in issue order, a batch at a time (see holderRowBatches), as the export shows them at `now`. */
export async function* couponHolderBatches(db: Db, couponId: string, now = new Date()): AsyncGenerator<Holder[]> {
  for await (const rows of holderRowBatches(db, couponId)) {
    yield rows.map((r) => ({
      issuedCouponId: r.id, userId: r.user_id, status: issuedCouponStatus({ status: r.status, validUntil: r.valid_until, holdUntil: r.hold_until }, now),
      issuedAt: r.issued_at.toISOString(), usedAt: r.used_at?.toISOString() ?? null, orderId: r.status === 'USED' ? r.order_id : r.status === 'HELD' ? r.hold_order_id : null,
    }));
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
