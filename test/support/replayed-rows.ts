import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { sql } from 'kysely';
import { couponProjection } from '../../projections/coupon/coupon-projection.ts';
import { issuedCouponProjection } from '../../projections/issued-coupon/issued-coupon-projection.ts';
import type { Harness } from './api-harness.ts';

/**
 * A coupon's read-model rows as a rebuild from the log makes them: its events, read back from Kafka, run
 * through the projections into private copies of the tables (so no other test's rows are touched), a batch
 * of `batchSize` events at a time. Returns those rows and the live ones, in the same shape, to compare.
 */
export async function replayedAndLiveRows(harness: Harness, couponId: string, batchSize = 1): Promise<{ replayed: unknown; live: unknown }> {
  const db = harness.runtime.db;
  const suffix = `__t${randomBytes(4).toString('hex')}`;
  const tables = { coupon: `coupon${suffix}`, issued_coupon: `issued_coupon${suffix}`, coupon_bucket: `coupon_bucket${suffix}` };
  for (const [live, copy] of Object.entries(tables)) await sql`CREATE TABLE ${sql.table(copy)} LIKE ${sql.table(live)}`.execute(db);
  try {
    const events = await harness.eventsOf(couponId);
    for (let i = 0; i < events.length; i += batchSize) {
      const batch = events.slice(i, i + batchSize);
      const positions = batch.map((_, j) => ({ partition: 0, offset: BigInt(i + j) }));
      await db.transaction().execute(async (tx) => {
        for (const projection of [couponProjection, issuedCouponProjection]) {
          await projection.write(tx, (projection.changes as (e: typeof batch, p: typeof positions) => never)(batch, positions), tables);
        }
      });
    }
    const rows = async (coupon: string, issued: string) => ({
      coupon: (await sql`SELECT issued_count, used_count, cancelled_count, revoked_count, status, total_quantity, issue_start_at, issue_end_at, required_claims, allow_list_version, allow_list_size, unused_revoked_at FROM ${sql.table(coupon)} WHERE id = ${couponId}`.execute(db)).rows,
      issued: (await sql`SELECT id, user_id, status, used_at, order_id, use_generation, revoked_at FROM ${sql.table(issued)} WHERE coupon_id = ${couponId} ORDER BY id`.execute(db)).rows,
    });
    return { replayed: await rows(tables.coupon, tables.issued_coupon), live: await rows('coupon', 'issued_coupon') };
  } finally {
    for (const copy of Object.values(tables)) await sql`DROP TABLE IF EXISTS ${sql.table(copy)}`.execute(db);
  }
}

/** The log rebuilds the coupon's live rows, one event at a time and a hundred at once, and its audit passes. */
export async function assertLogRebuildsLiveRows(harness: Harness, couponId: string): Promise<void> {
  for (const batchSize of [1, 100]) {
    const { replayed, live } = await replayedAndLiveRows(harness, couponId, batchSize);
    assert.equal(replayed, live, `rebuilt in batches of ${batchSize}`);
  }
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
}
