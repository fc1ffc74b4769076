import { sql, type Kysely } from 'kysely';

/**
 * Holds at checkout: an issued coupon HELD for an order until `hold_until`, with the hold's number (so a copy of an
 * older hold or of its end changes nothing) and how the latest hold ended. The index is what the expiry timer
 * reads: held rows by when they lapse. No backfill: nothing was held before this.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('issued_coupon')
    .addColumn('hold_order_id', 'varchar(100)')
    .addColumn('hold_until', sql`datetime(3)`)
    .addColumn('hold_sequence', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('hold_ended', 'varchar(10)')
    .execute();
  await db.schema.createIndex('issued_coupon_held').on('issued_coupon').columns(['status', 'hold_until']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('issued_coupon_held').on('issued_coupon').execute();
  await db.schema.alterTable('issued_coupon').dropColumn('hold_order_id').dropColumn('hold_until').dropColumn('hold_sequence').dropColumn('hold_ended').execute();
}
