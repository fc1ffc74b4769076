import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import type { IssuedCouponTable } from '../../src/db/schema.ts';
import { chunks } from '../../src/batching/chunks.ts';
import { caseWhen, type Projection } from '../projection.ts';

export interface Use {
  id: string;
  usedAt: Date;
  orderId: string | null;
}

export interface IssuedCouponChanges {
  issued: Insertable<IssuedCouponTable>[];
  used: Use[];
}

/**
 * The `issued_coupon` read model: who holds which coupon and whether it was used. EXPIRED is not stored:
 * it is ISSUED past valid_until, decided when read, so the table stays a pure function of the log.
 */
export const issuedCouponProjection: Projection<IssuedCouponChanges> = {
  name: 'issued_coupon',
  tables: ['issued_coupon'],
  handles: ['CouponIssued', 'CouponUsed'],

  changes(events) {
    const issued = new Map<string, Insertable<IssuedCouponTable>>();
    const used = new Map<string, Use>();
    for (const e of events) {
      if (e.type === 'CouponIssued' && !issued.has(e.data.issuedCouponId)) {
        issued.set(e.data.issuedCouponId, {
          id: e.data.issuedCouponId, coupon_id: e.couponId, user_id: e.data.userId, status: 'ISSUED',
          issued_at: new Date(e.occurredAt), valid_from: new Date(e.data.validFrom), valid_until: new Date(e.data.validUntil),
        });
      } else if (e.type === 'CouponUsed' && !used.has(e.data.issuedCouponId)) {
        used.set(e.data.issuedCouponId, { id: e.data.issuedCouponId, usedAt: new Date(e.occurredAt), orderId: e.data.orderId ?? null });
      }
    }
    return { issued: [...issued.values()], used: [...used.values()] };
  },

  async write(tx, { issued, used }, tables) {
    const table = tables.issued_coupon!;
    for (const rows of chunks(issued)) {
      await tx.insertInto(table as 'issued_coupon').values(rows).onDuplicateKeyUpdate({ id: sql.ref('id') }).execute();
    }
    // Only an ISSUED row becomes USED, once: a redelivered CouponUsed finds it USED and changes nothing.
    for (const part of chunks(used)) {
      await sql`UPDATE ${sql.table(table)} SET
          status = 'USED',
          used_at = ${caseWhen('id', part.map((u) => [u.id, u.usedAt]))},
          order_id = ${caseWhen('id', part.map((u) => [u.id, u.orderId]))}
        WHERE id IN (${sql.join(part.map((u) => u.id))}) AND status = 'ISSUED'`.execute(tx);
    }
  },
};
