import { z } from 'zod';
import { identityOf } from '../auth/authenticate.ts';
import type { Db } from '../db/database.ts';
import { pageOf } from '../http/json-schema.ts';
import { decodeCursor, page, pageQuery } from '../http/pagination.ts';
import { Problem } from '../http/problem.ts';
import type { Route } from '../http/route.ts';
import { validate } from '../http/validate.ts';
import { scanForExpiringCoupons } from './expiry-scan.ts';
import { noticeOf } from './notice.ts';

export interface NotificationRouteDeps {
  db: Db;
  expiryNoticeDays: number;
}

export const inboxQuery = z.strictObject(pageQuery);
export const deliveriesQuery = z.strictObject({ status: z.enum(['PENDING', 'DELIVERED', 'DEAD']).default('DEAD'), ...pageQuery });
const channelParam = z.enum(['webhook', 'email']);

export const notificationRoutes = ({ db, expiryNoticeDays }: NotificationRouteDeps): Route[] => [{
  method: 'get', path: '/me/notifications', auth: 'token', query: inboxQuery, summary: "The caller's notices, newest first", tag: 'coupons',
  answer: { status: 200, schema: pageOf({ type: 'object' }) }, problems: ['VALIDATION_FAILED'],
  handler: async (ctx) => {
    const query = validate(inboxQuery, ctx.query, 'query');
    let select = db
      .selectFrom('notification as n')
      .leftJoin('coupon as c', 'c.id', 'n.coupon_id')
      .selectAll('n')
      .select('c.name as coupon_name')
      .where('n.user_id', '=', identityOf(ctx).userId);
    if (query.cursor) select = select.where('n.id', '<', decodeCursor(query.cursor));
    const rows = await select.orderBy('n.id', 'desc').limit(query.limit + 1).execute();
    const { items, nextCursor } = page(rows, query.limit, (r) => r.id);
    ctx.body = { items: items.map((r) => { const { userId: _, ...notice } = noticeOf(r, r.coupon_name); return notice; }), nextCursor };
  },
}, {
  method: 'post', path: '/admin/jobs/expiry-notices', auth: 'admin', summary: 'Run the expiry scan now; safe to repeat', tag: 'admin',
  answer: { status: 200, schema: { type: 'object', properties: { scanned: { type: 'integer' }, notified: { type: 'integer' } } } },
  handler: async (ctx) => {
    ctx.body = await scanForExpiringCoupons(db, expiryNoticeDays);
  },
}, {
  method: 'get', path: '/admin/deliveries', auth: 'admin', query: deliveriesQuery, summary: 'Notice deliveries by status (DEAD by default)', tag: 'admin',
  answer: { status: 200, schema: pageOf({ type: 'object' }) }, problems: ['VALIDATION_FAILED'],
  handler: async (ctx) => {
    const query = validate(deliveriesQuery, ctx.query, 'query');
    let select = db.selectFrom('notification_delivery').selectAll().where('status', '=', query.status);
    if (query.cursor) select = select.where('notification_id', '<', decodeCursor(query.cursor));
    const rows = await select.orderBy('notification_id', 'desc').limit(query.limit + 1).execute();
    const { items, nextCursor } = page(rows, query.limit, (r) => r.notification_id);
    ctx.body = {
      items: items.map((d) => ({
        notificationId: d.notification_id, channel: d.channel, status: d.status, attempts: d.attempts,
        lastError: d.last_error, nextAttemptAt: d.next_attempt_at.toISOString(), deliveredAt: d.delivered_at?.toISOString() ?? null,
      })),
      nextCursor,
    };
  },
}, {
  method: 'post', path: '/admin/deliveries/:notificationId/:channel/retry', auth: 'admin', summary: 'Send a dead delivery again', tag: 'admin',
  params: { notificationId: 'The notice', channel: 'webhook or email' },
  answer: { status: 200, schema: { type: 'object' } }, problems: ['NOT_FOUND', 'DELIVERY_NOT_DEAD'],
  handler: async (ctx) => {
    const { notificationId } = ctx.params as { notificationId: string };
    const channel = channelParam.safeParse((ctx.params as { channel: string }).channel);
    const delivery = channel.success
      ? await db.selectFrom('notification_delivery').select('status').where('notification_id', '=', notificationId).where('channel', '=', channel.data).executeTakeFirst()
      : undefined;
    if (!delivery || !channel.success) throw new Problem('NOT_FOUND', 'No delivery for this notice on this channel');
    if (delivery.status !== 'DEAD') throw new Problem('DELIVERY_NOT_DEAD', `The delivery is ${delivery.status}`);
    await db.updateTable('notification_delivery')
      .set({ status: 'PENDING', attempts: 0, next_attempt_at: new Date(), last_error: null, updated_at: new Date() })
      .where('notification_id', '=', notificationId).where('channel', '=', channel.data).where('status', '=', 'DEAD')
      .execute();
    ctx.body = { notificationId, channel: channel.data, status: 'PENDING' };
  },
}];
