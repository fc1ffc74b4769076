import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import { chunks } from '../../src/batching/chunks.ts';
import { uuidv7 } from '../../src/ids/ids.ts';
import type { NotificationTable } from '../../src/db/schema.ts';
import type { Projection } from '../projection.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { isErased } from '../../src/privacy/sealed-fields.ts';

export const usedNotice = (issuedCouponId: string, usedAt: string): Pick<Insertable<NotificationTable>, 'id' | 'type'> => ({
  id: uuidv7(Date.parse(usedAt), `COUPON_USED:${issuedCouponId}`),
  type: 'COUPON_USED',
});

export const revokedNotice = (issuedCouponId: string, revokedAt: string): Pick<Insertable<NotificationTable>, 'id' | 'type'> => ({
  id: uuidv7(Date.parse(revokedAt), `COUPON_REVOKED:${issuedCouponId}`),
  type: 'COUPON_REVOKED',
});

/**
 * The inbox rows the notifier delivers: COUPON_USED for an issued coupon's first use, COUPON_REVOKED for
 * each revoked one. One notice per type and issued coupon (the table's key): a use after a cancelled one is
 * not notified again (the holder was told at the first use, and the cancellation came from their own order),
 * and a redelivered event maps to the same id and key, so it adds nothing.
 */
export const notificationProjection: Projection<Insertable<NotificationTable>[]> = {
  name: 'notification',
  tables: ['notification'],
  handles: ['CouponUsed', 'CouponsRevoked', 'CouponUseCancelled'],

  changes(events) {
    const notices = new Map<string, Insertable<NotificationTable>>();
    const revokedFrom = (e: CouponEvent, issuedCouponId: string, userId: string) => notices.set(`R${issuedCouponId}`, {
      ...revokedNotice(issuedCouponId, e.occurredAt), user_id: userId, issued_coupon_id: issuedCouponId, coupon_id: e.couponId,
      data: JSON.stringify({ revokedAt: e.occurredAt }), created_at: new Date(e.occurredAt),
    });
    for (const e of events) {
      if (e.type === 'CouponsRevoked') for (const { issuedCouponId, userId } of e.data.revoked) revokedFrom(e, issuedCouponId, userId);
      // A use cancelled after revoke-unused revoked its coupon: the holder is told as the others were.
      if (e.type === 'CouponUseCancelled' && e.data.revokedCount) revokedFrom(e, e.data.issuedCouponId, e.data.userId);
      if (e.type !== 'CouponUsed' || e.data.useGeneration > 1 || notices.has(e.data.issuedCouponId)) continue;
      notices.set(e.data.issuedCouponId, {
        ...usedNotice(e.data.issuedCouponId, e.occurredAt),
        user_id: e.data.userId,
        issued_coupon_id: e.data.issuedCouponId,
        coupon_id: e.couponId,
        data: JSON.stringify({ usedAt: e.occurredAt, ...(e.data.orderId ? { orderId: e.data.orderId } : {}) }),
        created_at: new Date(e.occurredAt),
      });
    }
    // An erased person (their key deleted, src/privacy) is told nothing: there is nobody to tell, and no inbox of theirs.
    return [...notices.values()].filter((n) => !isErased(n.user_id));
  },

  async write(tx, notices, tables) {
    for (const rows of chunks(notices)) {
      await tx.insertInto(tables.notification! as 'notification').values(rows).onDuplicateKeyUpdate({ id: sql.ref('id') }).execute();
    }
  },
};
