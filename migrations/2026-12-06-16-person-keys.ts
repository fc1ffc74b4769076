import { sql, type Kysely } from 'kysely';

/**
 * One AES-256 key per person (src/privacy/person-keys.ts): a random key id, the person's keyed hash, the secret
 * (null once erased: the row stays as a tombstone), and the pepper of that hash, made once per deployment.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('person_key')
    .addColumn('key_id', 'char(22)', (c) => c.primaryKey())
    .addColumn('person_hash', 'char(43)', (c) => c.notNull().unique())
    .addColumn('secret', sql`binary(32)`)
    .addColumn('created_at', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('erased_at', sql`datetime(3)`)
    .execute();
  await db.schema
    .createTable('person_key_pepper')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('pepper', sql`binary(32)`, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('person_key_pepper').execute();
  await db.schema.dropTable('person_key').execute();
}
