import type { Kysely } from 'kysely';

/**
 * A coupon's budget spent (the grants of its uses in force, in minor units of its currency) and the nth change of it,
 * so a late copy of an older use or cancellation leaves the newer figure. No backfill: no coupon had a budget before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('coupon')
    .addColumn('budget_spent_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('budget_revision', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').dropColumn('budget_spent_minor').dropColumn('budget_revision').execute();
}
