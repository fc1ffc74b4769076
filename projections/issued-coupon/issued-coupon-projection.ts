import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import type { IssuedCouponTable } from '../../src/db/schema.ts';
import { chunks } from '../../src/batching/chunks.ts';
import { caseWhen, type Projection } from '../projection.ts';

export interface Use {
  id: string;
  usedAt: Date;
  orderId: string | null;
  generation: number;
}

export interface IssuedCouponChanges {
  issued: Insertable<IssuedCouponTable>[];
  /** Per issued coupon, its latest use in the batch. */
  used: Use[];
  /** Per issued coupon, the generation of its latest cancelled use in the batch. */
  cancelled: { id: string; generation: number }[];
  revoked: { id: string; revokedAt: Date }[];
}

/**
 * The `issued_coupon` read model: who holds which coupon and whether it is in use or revoked. EXPIRED is not
 * stored: it is ISSUED past valid_until, decided when read, so the table stays a pure function of the log.
 *
 * Within a batch an issued coupon's changes are written as its latest use, then its latest cancellation,
 * then its revocation: the order they can happen in (a revoked coupon is never used again). Each is guarded
 * by the row's use generation, so a copy of an older use or cancellation changes nothing.
 */
export const issuedCouponProjection: Projection<IssuedCouponChanges> = {
  name: 'issued_coupon',
  tables: ['issued_coupon'],
  handles: ['CouponIssued', 'CouponUsed', 'CouponUseCancelled', 'CouponsRevoked'],

  changes(events) {
    const issued = new Map<string, Insertable<IssuedCouponTable>>();
    const used = new Map<string, Use>();
    const cancelled = new Map<string, number>();
    const revoked = new Map<string, Date>();
    for (const e of events) {
      if (e.type === 'CouponIssued' && !issued.has(e.data.issuedCouponId)) {
        issued.set(e.data.issuedCouponId, {
          id: e.data.issuedCouponId, coupon_id: e.couponId, user_id: e.data.userId, status: 'ISSUED',
          issued_at: new Date(e.occurredAt), valid_from: new Date(e.data.validFrom), valid_until: new Date(e.data.validUntil),
        });
      } else if (e.type === 'CouponUsed' && (used.get(e.data.issuedCouponId)?.generation ?? 0) < e.data.useGeneration) {
        used.set(e.data.issuedCouponId, { id: e.data.issuedCouponId, usedAt: new Date(e.occurredAt), orderId: e.data.orderId, generation: e.data.useGeneration });
      } else if (e.type === 'CouponUseCancelled') {
        cancelled.set(e.data.issuedCouponId, Math.max(cancelled.get(e.data.issuedCouponId) ?? 0, e.data.useGeneration));
        // After revoke-unused the cancelled use leaves the coupon revoked: written after the cancellation, as it happened.
        if (e.data.revokedCount && !revoked.has(e.data.issuedCouponId)) revoked.set(e.data.issuedCouponId, new Date(e.occurredAt));
      } else if (e.type === 'CouponsRevoked') {
        for (const { issuedCouponId } of e.data.revoked) if (!revoked.has(issuedCouponId)) revoked.set(issuedCouponId, new Date(e.occurredAt));
      }
    }
    return {
      issued: [...issued.values()], used: [...used.values()],
      cancelled: [...cancelled].map(([id, generation]) => ({ id, generation })),
      revoked: [...revoked].map(([id, revokedAt]) => ({ id, revokedAt })),
    };
  },

  async write(tx, { issued, used, cancelled, revoked }, tables) {
    const table = tables.issued_coupon!;
    for (const rows of chunks(issued)) {
      await tx.insertInto(table as 'issued_coupon').values(rows).onDuplicateKeyUpdate({ id: sql.ref('id') }).execute();
    }
    // A use newer than the row's takes effect; a copy of it, or of an older one, finds the generation reached.
    for (const part of chunks(used)) {
      const generation = caseWhen('id', part.map((u) => [u.id, u.generation]));
      await sql`UPDATE ${sql.table(table)} SET
          status = 'USED',
          used_at = ${caseWhen('id', part.map((u) => [u.id, u.usedAt]))},
          order_id = ${caseWhen('id', part.map((u) => [u.id, u.orderId]))},
          use_generation = ${generation}
        WHERE id IN (${sql.join(part.map((u) => u.id))}) AND status <> 'REVOKED' AND use_generation < ${generation}`.execute(tx);
    }
    // Undoes the use it names, only while that use is the one in force; the order stays, as the one cancelled.
    for (const part of chunks(cancelled)) {
      await sql`UPDATE ${sql.table(table)} SET status = 'ISSUED', used_at = NULL
        WHERE id IN (${sql.join(part.map((c) => c.id))}) AND status = 'USED'
          AND use_generation = ${caseWhen('id', part.map((c) => [c.id, c.generation]))}`.execute(tx);
    }
    for (const part of chunks(revoked)) {
      await sql`UPDATE ${sql.table(table)} SET status = 'REVOKED', revoked_at = ${caseWhen('id', part.map((r) => [r.id, r.revokedAt]))}
        WHERE id IN (${sql.join(part.map((r) => r.id))}) AND status = 'ISSUED'`.execute(tx);
    }
  },
};
