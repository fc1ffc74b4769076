import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * When revoke-unused first ran on a coupon: from then on a use cancelled leaves its coupon REVOKED. Coupons
 * revoked before this column existed have a revoked total above zero, which says the same (see coupon-rules).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').addColumn('unused_revoked_at', sql`datetime(3)`).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('coupon').dropColumn('unused_revoked_at').execute();
}
