import type { Kysely } from 'kysely';

/**
 * A coupon split into stock buckets numbers cancellations and revocations per bucket too (cancel-use and
 * revoke-unused decide in the holder's bucket); its cancelled and revoked counts are the sums. No backfill:
 * before this, both were refused on bucketed coupons.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('coupon_bucket')
    .addColumn('cancelled_up_to', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('revoked_up_to', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon_bucket').dropColumn('cancelled_up_to').dropColumn('revoked_up_to').execute();
}
