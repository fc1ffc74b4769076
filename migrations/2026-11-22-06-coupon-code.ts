import { sql, type Kysely } from 'kysely';

/** A coupon's human-friendly code (unique; NULL for coupons created before codes existed). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').addColumn('code', sql`varchar(32)`).execute();
  await db.schema.createIndex('coupon_by_code').on('coupon').column('code').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('coupon_by_code').on('coupon').execute();
  await db.schema.alterTable('coupon').dropColumn('code').execute();
}
