import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { identityOf } from '../../auth/authenticate.ts';
import { codesOf, Problem, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { may } from '../rules/coupon-rules.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { couponIdIn, JOIN_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { ticketSchema, type TicketView } from './ticket-view.ts';
import { STREAMS_PER_CALLER } from './waiting-rooms.ts';
import { CODE_PARAM } from '../read/read-coupon-routes.ts';

const PAGE = readFileSync(new URL('./queue-page.html', import.meta.url), 'utf8');

/** Only people wait, as only people are issued coupons (AUTHORITY): the order system holds none. */
function caller(ctx: Context): { userId: string; claims: string } {
  const { userId, claims, role } = identityOf(ctx);
  if (!may(role, 'issue')) throw new Problem('FORBIDDEN', 'Only people wait in a coupon\'s waiting room');
  return { userId, claims };
}

async function ticketOf(ctx: Context, deps: CouponRouteDeps, couponId: string): Promise<TicketView> {
  const ticket = await deps.rooms.ticket(couponId, caller(ctx));
  if (ticket === undefined) throw problemFor(JOIN_REFUSALS, { outcome: 'NOT_IN_QUEUE' });
  if (typeof ticket === 'string') throw problemFor(JOIN_REFUSALS, { outcome: ticket });
  return ticket;
}

/**
 * A coupon's waiting room (opening.mode `queue`). Who may call: a user, for themselves (their person: the coupon's
 * person claim in their token, or their account). A hostile user gains nothing by joining twice (one ticket per
 * person, the first), by joining early (everyone before the start is shuffled with a seed drawn at it), or by a
 * forged or borrowed pass (signed, bound to the person and coupon, live only in Redis's record, used once). An
 * admin waits as a person, for themselves. A service token is refused (403): the order system holds no coupons.
 */
export const queueRoutes = (deps: CouponRouteDeps): Route[] => [
  {
    method: 'get', path: '/queue/:code', auth: 'public', params: CODE_PARAM, tag: 'coupons',
    summary: 'The waiting room\'s page for a coupon code: sign in, take a place, watch it fall, claim when the pass arrives (static: no data in it)',
    answer: { status: 200, schema: { type: 'string' }, type: 'text/html', description: 'HTML (no data in it)' },
    handler: (ctx) => {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = PAGE;
    },
  },
  {
    method: 'post', path: '/coupons/:couponId/queue', auth: 'token', params: COUPON_ID_PARAM,
    summary: 'Join the coupon\'s waiting room (once per person; a second join answers the first ticket)', tag: 'coupons',
    notes: 'Before the issue start the ticket waits in the pre-queue, shuffled at the start; after it, joins queue in arrival order. ' +
      'A coupon with humanCheck needs a passed human check in the Human-Check header, as its issue does.',
    answer: { status: 201, schema: ticketSchema },
    problems: ['FORBIDDEN', ...codesOf(JOIN_REFUSALS), ...UNANSWERED],
    handler: async (ctx) => {
      const couponId = couponIdIn(ctx);
      const { userId, claims } = caller(ctx);
      const joined = await deps.humanCheck.behindGate(couponId, ctx.get('Human-Check') || undefined, userId, ctx.ip,
        (human) => deps.admission.queueJoin(couponId, userId, eventMeta(ctx), human, claims));
      if (joined.outcome !== 'JOINED') throw problemFor(JOIN_REFUSALS, joined);
      ctx.body = await ticketOf(ctx, deps, couponId);
      ctx.status = joined.created ? 201 : 200;
    },
  },
  {
    method: 'get', path: '/coupons/:couponId/queue/me', auth: 'token', params: COUPON_ID_PARAM,
    summary: 'Where the caller stands in the waiting room: place, people ahead, estimated wait, and their pass once granted', tag: 'coupons',
    answer: { status: 200, schema: ticketSchema },
    problems: ['FORBIDDEN', 'NOT_IN_QUEUE', 'NOT_A_QUEUE', 'COUPON_NOT_FOUND', 'IDENTITY_REQUIRED'],
    handler: async (ctx) => {
      ctx.body = await ticketOf(ctx, deps, couponIdIn(ctx));
    },
  },
  {
    method: 'get', path: '/coupons/:couponId/queue/me/events', auth: 'token', params: COUPON_ID_PARAM,
    summary: 'Server-Sent Events: the caller\'s ticket (as GET …/queue/me) whenever it changes; the stream ends once it is final (issued, pass lapsed, closed, ended); a sell-out is told and the stream stays, as added stock reopens the room', tag: 'coupons',
    answer: { status: 200, schema: { type: 'string' }, also: { 'text/event-stream': { type: 'string' } } },
    problems: ['FORBIDDEN', 'NOT_IN_QUEUE', 'NOT_A_QUEUE', 'COUPON_NOT_FOUND', 'IDENTITY_REQUIRED', 'RATE_LIMITED'],
    handler: async (ctx) => {
      const couponId = couponIdIn(ctx);
      const first = await ticketOf(ctx, deps, couponId);
      if (!deps.rooms.mayWatch(identityOf(ctx).userId)) {
        throw new Problem('RATE_LIMITED', `At most ${STREAMS_PER_CALLER} streams of one account at once; close one, or read GET …/queue/me`, {}, { 'Retry-After': '5' });
      }
      const stream = new PassThrough();
      ctx.req.once('close', () => stream.end());
      ctx.type = 'text/event-stream';
      ctx.set('X-Accel-Buffering', 'no');
      ctx.body = stream;
      deps.rooms.watch(couponId, caller(ctx), stream, first);
    },
  },
];
