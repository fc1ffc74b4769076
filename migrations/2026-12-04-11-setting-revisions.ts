import type { Kysely } from 'kysely';

/**
 * The revision of the change each setting (window, required claims, allow-list) last took from the log: a late
 * copy of an older change is not applied over a newer one. 0 for changes from before revisions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['window_revision', 'claims_revision', 'allow_list_revision']) {
    await db.schema.alterTable('coupon').addColumn(column, 'integer', (c) => c.notNull().defaultTo(0)).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['window_revision', 'claims_revision', 'allow_list_revision']) await db.schema.alterTable('coupon').dropColumn(column).execute();
}
