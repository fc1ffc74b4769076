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
  /** Per issued coupon, its latest hold in the batch, and the latest hold the batch ended (released, lapsed, or confirmed by a use). */
  held: { id: string; orderId: string; until: Date; holdSequence: number }[];
  ended: { id: string; holdSequence: number; reason: 'RELEASED' | 'EXPIRED' | 'USED' }[];
}

type Ended = IssuedCouponChanges['ended'][number];

/**
 * The `issued_coupon` read model: who holds which coupon and whether it is in use or revoked. EXPIRED is not
 * stored: it is ISSUED past valid_until, decided when read, so the table stays a pure function of the log.
 *
 * Within a batch an issued coupon's changes are written as its latest use, then its latest cancellation, then its
 * latest hold and the latest end of a hold, then its revocation: the order they can happen in (a revoked coupon is
 * never used again). Uses and cancellations are guarded by the row's use generation and holds by its hold number,
 * so a copy of an older one changes nothing, even after the row moved on.
 */
export const issuedCouponProjection: Projection<IssuedCouponChanges> = {
  name: 'issued_coupon',
  tables: ['issued_coupon'],
  handles: ['CouponIssued', 'CouponUsed', 'CouponUseCancelled', 'CouponsRevoked', 'CouponHeld', 'CouponHoldEnded'],

  changes(events) {
    const issued = new Map<string, Insertable<IssuedCouponTable>>();
    const used = new Map<string, Use>();
    const cancelled = new Map<string, number>();
    const revoked = new Map<string, Date>();
    const held = new Map<string, IssuedCouponChanges['held'][number]>();
    const ended = new Map<string, Ended>();
    const end = (id: string, holdSequence: number, reason: Ended['reason']) => {
      if ((ended.get(id)?.holdSequence ?? 0) < holdSequence) ended.set(id, { id, holdSequence, reason });
    };
    for (const e of events) {
      if (e.type === 'CouponIssued' && !issued.has(e.data.issuedCouponId)) {
        issued.set(e.data.issuedCouponId, {
          id: e.data.issuedCouponId, coupon_id: e.couponId, user_id: e.data.userId, status: 'ISSUED',
          issued_at: new Date(e.occurredAt), valid_from: new Date(e.data.validFrom), valid_until: new Date(e.data.validUntil),
        });
      } else if (e.type === 'CouponUsed' && (used.get(e.data.issuedCouponId)?.generation ?? 0) < e.data.useGeneration) {
        used.set(e.data.issuedCouponId, { id: e.data.issuedCouponId, usedAt: new Date(e.occurredAt), orderId: e.data.orderId, generation: e.data.useGeneration });
        if (e.data.holdSequence) end(e.data.issuedCouponId, e.data.holdSequence, 'USED');
      } else if (e.type === 'CouponHeld' && (held.get(e.data.issuedCouponId)?.holdSequence ?? 0) < e.data.holdSequence) {
        const { issuedCouponId: id, orderId, holdSequence, heldUntilMs } = e.data;
        held.set(id, { id, orderId, until: new Date(heldUntilMs), holdSequence });
      } else if (e.type === 'CouponHoldEnded') {
        end(e.data.issuedCouponId, e.data.holdSequence, e.data.reason);
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
      held: [...held.values()], ended: [...ended.values()],
    };
  },

  async write(tx, { issued, used, cancelled, revoked, held, ended }, tables) {
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
    // A hold newer than the row's is recorded whatever the row's status (so its late copy is known later), and holds
    // the coupon only while it is not in use nor revoked. `hold_sequence` is set last: MariaDB assigns in order.
    for (const part of chunks(held)) {
      const newer = sql`hold_sequence < ${caseWhen('id', part.map((h) => [h.id, h.holdSequence]))}`;
      await sql`UPDATE ${sql.table(table)} SET
          status = IF(status IN ('ISSUED', 'HELD') AND ${newer}, 'HELD', status),
          hold_order_id = IF(${newer}, ${caseWhen('id', part.map((h) => [h.id, h.orderId]))}, hold_order_id),
          hold_until = IF(${newer}, ${caseWhen('id', part.map((h) => [h.id, h.until]))}, hold_until),
          hold_ended = IF(${newer}, NULL, hold_ended),
          hold_sequence = GREATEST(hold_sequence, ${caseWhen('id', part.map((h) => [h.id, h.holdSequence]))})
        WHERE id IN (${sql.join(part.map((h) => h.id))})`.execute(tx);
    }
    // Ends the hold it names, only while that hold is the row's latest and not ended.
    for (const part of chunks(ended)) {
      await sql`UPDATE ${sql.table(table)} SET status = IF(status = 'HELD', 'ISSUED', status), hold_ended = ${caseWhen('id', part.map((h) => [h.id, h.reason]))}
        WHERE id IN (${sql.join(part.map((h) => h.id))}) AND hold_ended IS NULL
          AND hold_sequence = ${caseWhen('id', part.map((h) => [h.id, h.holdSequence]))}`.execute(tx);
    }
    for (const part of chunks(revoked)) {
      // A revocation ends a hold still open with it, as the rules' evolve does.
      await sql`UPDATE ${sql.table(table)} SET status = 'REVOKED', revoked_at = ${caseWhen('id', part.map((r) => [r.id, r.revokedAt]))},
          hold_ended = IF(hold_sequence > 0 AND hold_ended IS NULL, 'REVOKED', hold_ended)
        WHERE id IN (${sql.join(part.map((r) => r.id))}) AND status IN ('ISSUED', 'HELD')`.execute(tx);
    }
  },
};
