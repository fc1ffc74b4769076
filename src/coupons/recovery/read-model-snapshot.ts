import { sql } from 'kysely';
import { couponProjection } from '../../../projections/coupon/coupon-projection.ts';
import { issuedCouponProjection } from '../../../projections/issued-coupon/issued-coupon-projection.ts';
import type { Db } from '../../db/database.ts';
import { partitionFor } from '../../kafka/kafka-client.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';
import type { RebuiltCoupon } from './rebuilt-coupon.ts';
import { inUse as inUseOf, type Hold, type Redemption } from '../rules/coupon-rules.ts';
import type { RequiredClaims } from '../../events/coupon-events.ts';

/** The read models as one consistent snapshot, read partition by partition for a restore. */
export interface ReadModelSnapshot {
  /**
   * Where the coupon and issued_coupon read models stand in this partition, when they stand at the same
   * offset (they are written in one transaction, so they do unless one is being rebuilt).
   */
  checkpoint(partition: number): Promise<bigint | undefined>;
  /**
   * A coupon's admission state as the read models hold it, checked against their own counts: undefined when
   * the rows do not agree with each other or predate the stored definition, and the log must be replayed.
   */
  coupon(couponId: string): Promise<RebuiltCoupon | undefined>;
  /** Every coupon the read model knows, by the partition its events live in. */
  couponsByPartition(partitions: number): Promise<Map<number, string[]>>;
}

const PAGE = 10_000;

/**
 * An issued_coupon row's redemption, as the rules keep it: a row back to ISSUED with a use generation had its
 * use cancelled; a revoked row that had a use keeps the order of that cancelled use.
 */
function redemptionOf(r: { user_id: string; status: string; used_at: Date | null; order_id: string | null; use_generation: number; revoked_at: Date | null }): Redemption | undefined {
  const userId = r.user_id;
  if (r.status === 'USED' && r.used_at) return { state: 'USED', at: r.used_at.getTime(), generation: r.use_generation, orderId: r.order_id, userId };
  if (r.status === 'REVOKED' && r.revoked_at) return { state: 'REVOKED', at: r.revoked_at.getTime(), generation: r.use_generation, orderId: r.use_generation > 0 ? r.order_id : null, userId };
  return r.use_generation > 0 ? { state: 'CANCELLED', generation: r.use_generation, orderId: r.order_id, userId } : undefined;
}

/** An issued_coupon row's latest hold, as the rules keep it; none while it was never held. */
function holdOf(r: { user_id: string; hold_order_id: string | null; hold_until: Date | null; hold_sequence: number; hold_ended: Hold['ended'] | null }): Hold | undefined {
  if (r.hold_sequence === 0 || r.hold_order_id === null || r.hold_until === null) return undefined;
  return { orderId: r.hold_order_id, userId: r.user_id, until: r.hold_until.getTime(), holdSequence: r.hold_sequence, ...(r.hold_ended ? { ended: r.hold_ended } : {}) };
}

/** A coupon's issued_coupon rows as the rules keep them, with the counts they imply; undefined for a row that names no sequence. */
async function issuedOf(connection: Db, couponId: string) {
  const holders = new Map<string, number>();
  const redemptions = new Map<number, Redemption>();
  const holds = new Map<number, Hold>();
  let inUse = 0;
  let revoked = 0;
  for (let after = ''; ;) {
    const rows = await connection.selectFrom('issued_coupon')
      .select(['id', 'user_id', 'status', 'used_at', 'order_id', 'use_generation', 'revoked_at', 'hold_order_id', 'hold_until', 'hold_sequence', 'hold_ended'])
      .where('coupon_id', '=', couponId).where('id', '>', after).orderBy('id').limit(PAGE).execute();
    for (const r of rows) {
      const sequence = parseIssuedCouponId(r.id)?.sequence;
      if (sequence === undefined) return undefined;
      holders.set(r.user_id, sequence);
      const redemption = redemptionOf(r);
      if (redemption) redemptions.set(sequence, redemption);
      if (redemption?.state === 'USED') inUse++;
      if (redemption?.state === 'REVOKED') revoked++;
      const hold = holdOf(r);
      if (hold) holds.set(sequence, hold);
    }
    if (rows.length < PAGE) return { holders, redemptions, holds, inUse, revoked };
    after = rows[rows.length - 1]!.id;
  }
}

/** Runs `use` inside one REPEATABLE READ snapshot: rows and checkpoints agree for all it reads. */
export async function withReadModelSnapshot<T>(db: Db, topic: string, use: (snapshot: ReadModelSnapshot) => Promise<T>): Promise<T> {
  return db.connection().execute(async (connection) => {
    await sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`.execute(connection);
    await sql`START TRANSACTION WITH CONSISTENT SNAPSHOT`.execute(connection);
    try {
      return await use({
        async couponsByPartition(partitions) {
          const byPartition = new Map<number, string[]>();
          for (let after = ''; ;) {
            const rows = await connection.selectFrom('coupon').select('id').where('id', '>', after).orderBy('id').limit(PAGE).execute();
            for (const { id } of rows) {
              const partition = partitionFor(id, partitions);
              const ids = byPartition.get(partition);
              if (ids) ids.push(id);
              else byPartition.set(partition, [id]);
            }
            if (rows.length < PAGE) return byPartition;
            after = rows[rows.length - 1]!.id;
          }
        },
        async checkpoint(partition) {
          const rows = await connection.selectFrom('projection_checkpoint').select(['projection', 'next_offset'])
            .where('topic', '=', topic).where('partition_no', '=', partition)
            .where('projection', 'in', [couponProjection.name, issuedCouponProjection.name]).execute();
          const offsets = new Set(rows.map((r) => String(r.next_offset)));
          return rows.length === 2 && offsets.size === 1 ? BigInt([...offsets][0]!) : undefined;
        },
        async coupon(couponId) {
          const row = await connection.selectFrom('coupon').selectAll().where('id', '=', couponId).executeTakeFirst();
          // The allow-list's ids, the persons of a coupon one per person and a waiting room live only in Redis and the log: such a coupon is replayed.
          if (!row?.definition || row.allow_list_version !== null) return undefined;
          const definition = JSON.parse(row.definition) as {
            totalQuantity: number; issueStartAt: string; issueEndAt: string; validFrom: string; validUntil: string; onePer?: unknown; humanCheck?: boolean; opening?: unknown;
            currency?: string;
          };
          // A coupon with a currency: each use's grant lives in the log (and Redis), not in the rows.
          if (definition.onePer !== undefined || definition.opening !== undefined || definition.currency !== undefined) return undefined;
          const issued = await issuedOf(connection, couponId);
          if (!issued) return undefined;
          const { holders, redemptions, holds, inUse, revoked } = issued;
          // Sequences are handed out 1, 2, 3…: the counts must equal the rows, or something is missing.
          if (holders.size !== row.issued_count || inUse !== inUseOf({ usedCount: row.used_count, cancelledCount: row.cancelled_count }) || revoked !== row.revoked_count) return undefined;
          return {
            state: {
              couponId, status: row.closed_at ? 'CLOSED' : 'ACTIVE', totalQuantity: definition.totalQuantity, issued: row.issued_count, usedCount: row.used_count,
              cancelledCount: row.cancelled_count, revokedCount: row.revoked_count, allowListVersion: 0,
              ...(row.unused_revoked_at !== null || row.revoked_count > 0 ? { unusedRevoked: true as const } : {}),
              revisions: { window: row.window_revision, claims: row.claims_revision, allowList: row.allow_list_revision },
              ...(row.required_claims ? { requiredClaims: JSON.parse(row.required_claims) as RequiredClaims } : {}),
              ...(definition.humanCheck ? { humanCheck: true as const } : {}),
              issueStartAt: Date.parse(definition.issueStartAt), issueEndAt: Date.parse(definition.issueEndAt),
              validFrom: Date.parse(definition.validFrom), validUntil: Date.parse(definition.validUntil), holders, redemptions,
              // The nth hold is numbered on its row, which keeps it after the hold ends: the last placed is the highest.
              ...(holds.size > 0 ? { holds, heldCount: [...holds.values()].reduce((most, h) => Math.max(most, h.holdSequence), 0) } : {}),
            },
            definition: row.definition, validFrom: definition.validFrom, validUntil: definition.validUntil,
            createdAt: row.created_at.getTime(), ...(row.closed_at ? { closedAt: row.closed_at.getTime() } : {}),
          };
        },
      });
    } finally {
      await sql`COMMIT`.execute(connection);
    }
  });
}
