import type { ExpressionBuilder, Expression, Selectable, SqlBool } from 'kysely';
import type { CouponTable, Database } from '../../src/db/schema.ts';
import type { Db } from '../../src/db/database.ts';

/**
 * The catalog's query of the coupon read model: its rows in one of the rules' statuses (SCHEDULED, OPEN; see
 * `couponStatus` in src/coupons/rules), as conditions on its columns at `now`. Said as data,
 * so the same conditions become the catalog's SQL (`whereStatus`) and a row test (`holds`) that a unit test pairs
 * with `couponStatus` over every state: the SQL cannot drift from the rules.
 */
type Condition =
  | { column: 'status'; is: 'not'; value: 'CLOSED' }
  | { column: 'issue_start_at' | 'issue_end_at'; is: '<=' | '>'; value: 'now' }
  | { column: 'issued_count'; is: '<'; value: 'total_quantity' };

const notClosed: Condition = { column: 'status', is: 'not', value: 'CLOSED' };
export const STATUS_CONDITIONS = {
  SCHEDULED: [notClosed, { column: 'issue_start_at', is: '>', value: 'now' }],
  OPEN: [notClosed, { column: 'issue_start_at', is: '<=', value: 'now' }, { column: 'issue_end_at', is: '>', value: 'now' }, { column: 'issued_count', is: '<', value: 'total_quantity' }],
} as const satisfies Record<string, readonly Condition[]>;
export type ListedStatus = keyof typeof STATUS_CONDITIONS;

type Row = { status: string; issue_start_at: Date; issue_end_at: Date; issued_count: number; total_quantity: number };

function test(c: Condition, row: Row, now: Date): boolean {
  switch (c.column) {
    case 'status': return row.status !== c.value;
    case 'issued_count': return row.issued_count < row.total_quantity;
    default: return c.is === '<=' ? row[c.column] <= now : row[c.column] > now;
  }
}

/** Whether a row is in one of `statuses` at `now`, by the same conditions the SQL uses. */
export const holds = (statuses: readonly ListedStatus[], row: Row, now: Date): boolean =>
  statuses.some((s) => (STATUS_CONDITIONS[s] as readonly Condition[]).every((c) => test(c, row, now)));

function sqlOf(eb: ExpressionBuilder<Database, 'coupon'>, c: Condition, now: Date): Expression<SqlBool> {
  switch (c.column) {
    case 'status': return eb('status', '!=', c.value);
    case 'issued_count': return eb('issued_count', '<', eb.ref('total_quantity'));
    default: return eb(c.column, c.is, now);
  }
}

/** The SQL for rows in one of `statuses` at `now`. */
export const whereStatus = (statuses: readonly ListedStatus[], now: Date) => (eb: ExpressionBuilder<Database, 'coupon'>): Expression<SqlBool> =>
  eb.or(statuses.map((s) => eb.and((STATUS_CONDITIONS[s] as readonly Condition[]).map((c) => sqlOf(eb, c, now)))));

/** One page of the catalog, newest first: rows in one of `statuses` at `now`, before the cursor's id (`limit` + 1 rows, so a next page is known). */
export function catalogRows(db: Db, statuses: readonly ListedStatus[], now: Date, page: { before?: string; limit: number }): Promise<Selectable<CouponTable>[]> {
  let select = db.selectFrom('coupon').selectAll().where(whereStatus(statuses, now));
  if (page.before) select = select.where('id', '<', page.before);
  return select.orderBy('id', 'desc').limit(page.limit + 1).execute();
}
