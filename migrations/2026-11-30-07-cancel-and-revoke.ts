import { sql, type Kysely } from 'kysely';

/**
 * Cancelled uses and revoked coupons. A coupon counts uses made, uses cancelled and coupons revoked, each the
 * highest sequence its events carry (so a copy counts nothing twice); in use is used less cancelled. An issued
 * coupon keeps the generation of its latest use, so a copy of an older use or cancellation changes nothing, and
 * when it was revoked. Uses before this were all first uses.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').addColumn('cancelled_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('coupon').addColumn('revoked_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('issued_coupon').addColumn('use_generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('issued_coupon').addColumn('revoked_at', sql`datetime(3)`).execute();
  await sql`UPDATE issued_coupon SET use_generation = 1 WHERE status = 'USED'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('issued_coupon').dropColumn('revoked_at').execute();
  await db.schema.alterTable('issued_coupon').dropColumn('use_generation').execute();
  await db.schema.alterTable('coupon').dropColumn('revoked_count').execute();
  await db.schema.alterTable('coupon').dropColumn('cancelled_count').execute();
}
