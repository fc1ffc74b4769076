import { sql, type Kysely } from 'kysely';

/** Local accounts, the notification inbox (one notice per type and issued coupon), and delivery state per channel. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_account')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('notification')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(191)', (c) => c.notNull())
    .addColumn('type', 'varchar(20)', (c) => c.notNull())
    .addColumn('issued_coupon_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('coupon_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('dispatched', 'boolean', (c) => c.notNull().defaultTo(false))
    .addUniqueConstraint('notification_once', ['type', 'issued_coupon_id'])
    .execute();
  await db.schema.createIndex('notification_inbox').on('notification').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('notification_to_dispatch').on('notification').columns(['dispatched', 'id']).execute();

  await db.schema
    .createTable('notification_delivery')
    .addColumn('notification_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('channel', 'varchar(10)', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('last_error', 'varchar(1000)')
    .addColumn('delivered_at', sql`datetime(3)`)
    .addColumn('updated_at', sql`datetime(3)`, (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_delivery_pk', ['notification_id', 'channel'])
    .execute();
  await db.schema.createIndex('notification_delivery_due').on('notification_delivery').columns(['status', 'next_attempt_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notification_delivery').ifExists().execute();
  await db.schema.dropTable('notification').ifExists().execute();
  await db.schema.dropTable('user_account').ifExists().execute();
}
