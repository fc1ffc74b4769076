import type { Kysely } from 'kysely';

/** Where in the log each coupon's events are: runs of offsets, so a history page reads only those. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('coupon_event_range')
    .addColumn('coupon_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('partition_no', 'integer', (c) => c.notNull())
    .addColumn('first_offset', 'bigint', (c) => c.notNull())
    .addColumn('last_offset', 'bigint', (c) => c.notNull())
    .addColumn('events', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('coupon_event_range_pk', ['coupon_id', 'partition_no', 'first_offset'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('coupon_event_range').ifExists().execute();
}
