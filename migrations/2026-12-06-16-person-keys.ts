import { sql, type Kysely } from 'kysely';

/**
 * One AES-256 key per person (src/privacy/person-keys.ts), named by a keyed hash of the person: erasing a person
 * deletes their row, and every event sealed with it reads as a placeholder from then on.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('person_key')
    .addColumn('key_id', 'char(22)', (c) => c.primaryKey())
    .addColumn('secret', sql`binary(32)`, (c) => c.notNull())
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('person_key').execute();
}
