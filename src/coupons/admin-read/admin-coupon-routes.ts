import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import type { KafkaClient } from '../../kafka/kafka-client.ts';
import { pageOf } from '../../http/json-schema.ts';
import { decodeCursor, page, pageQuery } from '../../http/pagination.ts';
import { problemOf } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';
import { COUPON_ID_PARAM } from '../coupon-route-deps.ts';
import { adminCouponRowView, adminCouponSchema, adminCouponView } from '../coupon-view.ts';
import { CouponHistory, type HistoryStep } from '../history/coupon-history.ts';
import { couponHolderBatches, holdersCsv, holdersJson } from '../holders/coupon-holders.ts';
import { couponIdIn, NO_COUPON, NOT_IN_READ_MODEL } from '../coupon-refusals.ts';
import { isCouponId } from '../../ids/ids.ts';
import { ISSUED_COUPON_STATUSES } from '../rules/coupon-rules.ts';

export interface AdminReadDeps {
  db: Db;
  kafka: KafkaClient;
  admission: AdmissionStore;
  topic: string;
  partitions: number;
}

export const adminCouponsQuery = z.strictObject(pageQuery);
export const holdersQuery = z.strictObject({ format: z.enum(['csv', 'json']).default('json') });
export const couponEventsQuery = z.strictObject({
  fromOffset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  format: z.enum(['json', 'ndjson']).default('json'),
});

/** How much of the log the history index has not reached yet one page may scan before it answers. */
const TAIL_SCAN_LIMIT = 20_000;

const holderSchema = {
  type: 'object', required: ['issuedCouponId', 'userId', 'status', 'issuedAt', 'usedAt', 'orderId'],
  properties: {
    issuedCouponId: { type: 'string' }, userId: { type: 'string' }, status: { type: 'string', enum: [...ISSUED_COUPON_STATUSES] },
    issuedAt: { type: 'string', format: 'date-time' }, usedAt: { type: ['string', 'null'] }, orderId: { type: ['string', 'null'] },
  },
};
const historyPageSchema = { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } }, nextOffset: { type: ['integer', 'null'] } } };

/** Admin queries: the coupon read model with its counts, and a coupon's history read from the log itself. */
export const adminCouponRoutes = (deps: AdminReadDeps): Route[] => [{
  method: 'get', path: '/admin/coupons', auth: 'admin', query: adminCouponsQuery,
  summary: 'Coupons with their counts, newest first', tag: 'admin',
  answer: { status: 200, schema: pageOf(adminCouponSchema) }, problems: ['VALIDATION_FAILED'],
  handler: async (ctx) => {
    const query = validate(adminCouponsQuery, ctx.query, 'query');
    let select = deps.db.selectFrom('coupon').selectAll();
    if (query.cursor) select = select.where('id', '<', decodeCursor(query.cursor));
    const rows = await select.orderBy('id', 'desc').limit(query.limit + 1).execute();
    const { items, nextCursor } = page(rows, query.limit, (r) => r.id);
    const now = Date.now();
    ctx.body = { items: items.map((r) => adminCouponRowView(r, now)), nextCursor };
  },
}, {
  method: 'get', path: '/admin/coupons/:couponId', auth: 'admin', params: COUPON_ID_PARAM,
  summary: 'A coupon with its issued and used counts', tag: 'admin',
  answer: { status: 200, schema: adminCouponSchema }, problems: ['COUPON_NOT_FOUND'],
  handler: async (ctx) => {
    const couponId = couponIdIn(ctx);
    const row = await deps.db.selectFrom('coupon').selectAll().where('id', '=', couponId).executeTakeFirst();
    if (row) {
      ctx.body = adminCouponRowView(row, Date.now());
      return;
    }
    // Created a moment ago and not projected yet: admission state already knows it.
    const snapshot = await deps.admission.snapshot(couponId);
    if (!snapshot) throw problemOf(NO_COUPON, undefined);
    ctx.body = adminCouponView(couponId, snapshot);
  },
}, {
  method: 'get', path: '/admin/coupons/:couponId/events', auth: 'admin', params: COUPON_ID_PARAM, query: couponEventsQuery,
  summary: "A coupon's events, read from the log, oldest first", tag: 'admin',
  notes: 'A page reads only the offsets the history index names for this coupon (plus what the index has not reached yet), so it ' +
    'costs what the coupon\'s own events cost. `format=ndjson` streams every event from `fromOffset` to the end of the log as of ' +
    'the request, one JSON object per line, for auditors.',
  answer: { status: 200, schema: historyPageSchema, also: { 'application/x-ndjson': { type: 'string' } } },
  problems: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED'],
  handler: events(deps),
}, {
  method: 'get', path: '/admin/coupons/:couponId/holders', auth: 'admin', params: COUPON_ID_PARAM, query: holdersQuery,
  summary: 'Every holder of a coupon (who won), with issue and use times, from the read model', tag: 'admin',
  notes: 'Streamed in issue order, read in batches, so 100,000 holders cost one batch of memory. `format=csv` (a spreadsheet-safe CSV: ' +
    'cells that would start a formula are prefixed with a quote mark) or `format=json` (one JSON array).',
  answer: { status: 200, schema: { type: 'array', items: holderSchema }, also: { 'text/csv': { type: 'string' } } },
  problems: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED'],
  handler: holders(deps),
}];

function events(deps: AdminReadDeps): Route['handler'] {
  const history = new CouponHistory(deps);
  return async (ctx) => {
    const query = validate(couponEventsQuery, ctx.query, 'query');
    const couponId = couponIdIn(ctx);
    const from = BigInt(query.fromOffset);
    const exists = async () =>
      Boolean(await deps.db.selectFrom('coupon').select('id').where('id', '=', couponId).executeTakeFirst()) || Boolean(await deps.admission.snapshot(couponId));
    if (query.format === 'ndjson') {
      if (!(await exists())) throw problemOf(NO_COUPON, undefined);
      ctx.type = 'application/x-ndjson';
      ctx.body = Readable.from(ndjson(history.steps(couponId, from)));
      return;
    }
    const page = await history.page(couponId, from, query.limit, TAIL_SCAN_LIMIT);
    if (page.items.length === 0 && from === 0n && page.nextOffset === null && !(await exists())) throw problemOf(NO_COUPON, undefined);
    ctx.body = page;
  };
}

/** Every holder of a coupon with issue and use times, streamed from the read model (see coupon-holders.ts). */
const holders = (deps: AdminReadDeps): Route['handler'] => async (ctx) => {
  const { couponId } = ctx.params as { couponId: string };
  const { format } = validate(holdersQuery, ctx.query, 'query');
  if (!isCouponId(couponId) || !(await deps.db.selectFrom('coupon').select('id').where('id', '=', couponId).executeTakeFirst())) {
    throw problemOf(NOT_IN_READ_MODEL, undefined);
  }
  const holders = couponHolderBatches(deps.db, couponId);
  ctx.set('Content-Disposition', `attachment; filename="${couponId}-holders.${format}"`);
  ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json';
  ctx.body = Readable.from(format === 'csv' ? holdersCsv(holders) : holdersJson(holders));
};

async function* ndjson(steps: AsyncIterable<HistoryStep>): AsyncGenerator<string> {
  for await (const { offset, event } of steps) yield `${JSON.stringify({ offset: Number(offset), ...event })}\n`;
}
