import { sql, type Kysely } from 'kysely';

/** The coupon and issued_coupon read models and the projectors' checkpoints (the positions they applied up to). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('coupon')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('discount_type', 'varchar(10)', (c) => c.notNull())
    .addColumn('discount_value', 'decimal(14, 2)', (c) => c.notNull())
    .addColumn('total_quantity', 'integer', (c) => c.notNull())
    .addColumn('issue_start_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('issue_end_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('valid_from', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('valid_until', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('issued_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('used_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('closed_at', sql`datetime(3)`)
    .addColumn('last_event_at', sql`datetime(3)`, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('issued_coupon')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('coupon_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(191)', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('issued_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('used_at', sql`datetime(3)`)
    .addColumn('order_id', 'varchar(100)')
    .addColumn('valid_from', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('valid_until', sql`datetime(3)`, (c) => c.notNull())
    .addUniqueConstraint('issued_coupon_one_per_user', ['coupon_id', 'user_id'])
    .execute();
  // "My coupons" pages by user in id order; the expiry scan looks for unused coupons by end of validity.
  await db.schema.createIndex('issued_coupon_by_user').on('issued_coupon').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('issued_coupon_by_expiry').on('issued_coupon').columns(['status', 'valid_until']).execute();

  await db.schema
    .createTable('projection_checkpoint')
    .addColumn('projection', 'varchar(64)', (c) => c.notNull())
    .addColumn('topic', 'varchar(200)', (c) => c.notNull())
    .addColumn('partition_no', 'integer', (c) => c.notNull())
    .addColumn('next_offset', 'bigint', (c) => c.notNull())
    .addColumn('last_event_at', sql`datetime(3)`)
    .addColumn('updated_at', sql`datetime(3)`, (c) => c.notNull())
    .addPrimaryKeyConstraint('projection_checkpoint_pk', ['projection', 'topic', 'partition_no'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('projection_checkpoint').ifExists().execute();
  await db.schema.dropTable('issued_coupon').ifExists().execute();
  await db.schema.dropTable('coupon').ifExists().execute();
}
