import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import { chunks } from '../../src/batching/chunks.ts';
import { uuidv7 } from '../../src/coupons/ids.ts';
import type { NotificationTable } from '../../src/db/schema.ts';
import type { Projection } from '../projection.ts';

export const usedNotice = (issuedCouponId: string, usedAt: string): Pick<Insertable<NotificationTable>, 'id' | 'type'> => ({
  id: uuidv7(Date.parse(usedAt), `COUPON_USED:${issuedCouponId}`),
  type: 'COUPON_USED',
});

/**
 * COUPON_USED notices, one per CouponUsed: the inbox rows the notifier delivers. A redelivered event maps
 * to the same id and the same (type, issued coupon) key, so it adds nothing.
 */
export const notificationProjection: Projection<Insertable<NotificationTable>[]> = {
  name: 'notification',
  tables: ['notification'],
  handles: ['CouponUsed'],

  changes(events) {
    const notices = new Map<string, Insertable<NotificationTable>>();
    for (const e of events) {
      if (e.type !== 'CouponUsed' || notices.has(e.data.issuedCouponId)) continue;
      notices.set(e.data.issuedCouponId, {
        ...usedNotice(e.data.issuedCouponId, e.occurredAt),
        user_id: e.data.userId,
        issued_coupon_id: e.data.issuedCouponId,
        coupon_id: e.couponId,
        data: JSON.stringify({ usedAt: e.occurredAt, ...(e.data.orderId ? { orderId: e.data.orderId } : {}) }),
        created_at: new Date(e.occurredAt),
      });
    }
    return [...notices.values()];
  },

  async write(tx, notices, tables) {
    for (const rows of chunks(notices)) {
      await tx.insertInto(tables.notification! as 'notification').values(rows).onDuplicateKeyUpdate({ id: sql.ref('id') }).execute();
    }
  },
};
