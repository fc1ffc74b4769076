import { sql, type Kysely } from 'kysely';

/**
 * The CouponCreated data as the log holds it, so admission state can be restored from the read model
 * exactly as a replay would make it. Rows projected before this column existed keep NULL, and a restore
 * replays their partitions from the log instead.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').addColumn('definition', sql`mediumtext`).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').dropColumn('definition').execute();
}
