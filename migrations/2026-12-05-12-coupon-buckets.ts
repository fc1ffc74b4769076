import type { Kysely } from 'kysely';

/**
 * A coupon split into stock buckets counts issues and uses per bucket (each bucket's nth, so a copy of an
 * event counts nothing twice): its issued and used counts are the sums over these rows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('coupon_bucket')
    .addColumn('coupon_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('bucket', 'integer', (c) => c.notNull())
    .addColumn('issued_up_to', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('used_up_to', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('coupon_bucket_pk', ['coupon_id', 'bucket'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('coupon_bucket').execute();
}
