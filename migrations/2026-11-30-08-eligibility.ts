import { sql, type Kysely } from 'kysely';

/** Who may be issued a coupon: the claims required (JSON) and the allow-list in force (version and size; the ids live in Redis and the log). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').addColumn('required_claims', sql`text`).execute();
  await db.schema.alterTable('coupon').addColumn('allow_list_version', 'integer').execute();
  await db.schema.alterTable('coupon').addColumn('allow_list_size', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').dropColumn('allow_list_size').execute();
  await db.schema.alterTable('coupon').dropColumn('allow_list_version').execute();
  await db.schema.alterTable('coupon').dropColumn('required_claims').execute();
}
