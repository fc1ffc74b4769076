import { z } from 'zod';
import { ISSUED_COUPON_STATUSES, issuedCouponStatus } from '../rules/coupon-rules.ts';
import { identityOf } from '../../auth/authenticate.ts';
import type { Db } from '../../db/database.ts';
import { pageOf } from '../../http/json-schema.ts';
import { decodeCursor, page, pageQuery } from '../../http/pagination.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';

export const myCouponsQuery = z.strictObject({ status: z.enum(ISSUED_COUPON_STATUSES).optional(), ...pageQuery });

export const myCouponSchema = z.object({
  issuedCouponId: z.string(),
  couponId: z.string(),
  name: z.string().nullable(),
  status: z.enum(ISSUED_COUPON_STATUSES),
  issuedAt: z.string(),
  usedAt: z.string().nullable(),
  validUntil: z.string(),
});

/** "My coupons", from the issued_coupon read model, newest first. EXPIRED is ISSUED past its validity; HELD while a checkout's hold is in force. */
export const myCouponsRoute = (deps: { db: Db }): Route => ({
  method: 'get', path: '/me/coupons', auth: 'token', query: myCouponsQuery,
  summary: "The caller's coupons, newest first", tag: 'coupons',
  answer: { status: 200, schema: pageOf(myCouponSchema) }, problems: ['VALIDATION_FAILED'],
  handler: async (ctx) => {
    const query = validate(myCouponsQuery, ctx.query, 'query');
    const now = new Date();
    let select = deps.db
      .selectFrom('issued_coupon as ic')
      .leftJoin('coupon as c', 'c.id', 'ic.coupon_id')
      .select(['ic.id', 'ic.coupon_id', 'c.name', 'ic.status', 'ic.issued_at', 'ic.used_at', 'ic.valid_until', 'ic.hold_until'])
      .where('ic.user_id', '=', identityOf(ctx).userId);
    // As issuedCouponStatus tells them: a HELD row whose hold lapsed is ISSUED (or EXPIRED) again.
    const unused = ['ISSUED', 'HELD'] as const;
    if (query.status === 'USED' || query.status === 'REVOKED') select = select.where('ic.status', '=', query.status);
    if (query.status === 'HELD') select = select.where('ic.status', '=', 'HELD').where('ic.hold_until', '>', now).where('ic.valid_until', '>', now);
    if (query.status === 'ISSUED') {
      select = select.where('ic.status', 'in', unused).where('ic.valid_until', '>', now)
        .where((eb) => eb.or([eb('ic.status', '=', 'ISSUED'), eb('ic.hold_until', '<=', now)]));
    }
    if (query.status === 'EXPIRED') select = select.where('ic.status', 'in', unused).where('ic.valid_until', '<=', now);
    if (query.cursor) select = select.where('ic.id', '<', decodeCursor(query.cursor));
    const rows = await select.orderBy('ic.id', 'desc').limit(query.limit + 1).execute();
    const { items, nextCursor } = page(rows, query.limit, (r) => r.id);
    ctx.body = {
      items: items.map((r) => ({
        issuedCouponId: r.id,
        couponId: r.coupon_id,
        name: r.name,
        status: issuedCouponStatus({ status: r.status, validUntil: r.valid_until, holdUntil: r.hold_until }, now),
        issuedAt: r.issued_at.toISOString(),
        usedAt: r.used_at?.toISOString() ?? null,
        validUntil: r.valid_until.toISOString(),
      })),
      nextCursor,
    };
  },
});
