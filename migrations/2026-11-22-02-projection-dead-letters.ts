import { sql, type Kysely } from 'kysely';

/** Events a projection could not read: kept with the reason, never dropped in silence. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('projection_dead_letter')
    .addColumn('id', 'bigint', (c) => c.autoIncrement().primaryKey())
    .addColumn('projection', 'varchar(64)', (c) => c.notNull())
    .addColumn('topic', 'varchar(200)', (c) => c.notNull())
    .addColumn('partition_no', 'integer', (c) => c.notNull())
    .addColumn('offset', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'varchar(2000)', (c) => c.notNull())
    .addColumn('payload', sql`mediumtext`)
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .addUniqueConstraint('projection_dead_letter_once', ['projection', 'topic', 'partition_no', 'offset'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('projection_dead_letter').ifExists().execute();
}
