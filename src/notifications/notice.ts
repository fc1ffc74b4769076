import type { Selectable } from 'kysely';
import type { NotificationTable } from '../db/schema.ts';

/** A notice as the inbox shows it and the channels send it. */
export interface Notice {
  id: string;
  type: NotificationTable['type'];
  userId: string;
  issuedCouponId: string;
  couponId: string;
  couponName: string | null;
  createdAt: string;
  validUntil?: string;
  usedAt?: string;
  orderId?: string;
  revokedAt?: string;
}

export function noticeOf(row: Selectable<NotificationTable>, couponName: string | null): Notice {
  return {
    id: row.id,
    type: row.type,
    userId: row.user_id,
    issuedCouponId: row.issued_coupon_id,
    couponId: row.coupon_id,
    couponName,
    createdAt: row.created_at.toISOString(),
    ...(JSON.parse(row.data) as Pick<Notice, 'validUntil' | 'usedAt' | 'orderId' | 'revokedAt'>),
  };
}

export function describe(notice: Notice): { subject: string; text: string } {
  const name = notice.couponName ?? 'Your coupon';
  switch (notice.type) {
    case 'COUPON_EXPIRING':
      return { subject: `${name} expires soon`, text: `${name} (${notice.issuedCouponId}) is unused and expires at ${notice.validUntil}.` };
    case 'COUPON_USED':
      return { subject: `${name} was used`, text: `${name} (${notice.issuedCouponId}) was used at ${notice.usedAt}${notice.orderId ? ` for order ${notice.orderId}` : ''}.` };
    case 'COUPON_REVOKED':
      return { subject: `${name} was withdrawn`, text: `${name} (${notice.issuedCouponId}) was withdrawn by the shop at ${notice.revokedAt} and can no longer be used.` };
  }
}
