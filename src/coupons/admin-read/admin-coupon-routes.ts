import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { authenticate, requireAdmin } from '../../auth/authenticate.ts';
import type { TokenVerifier } from '../../auth/token-verifier.ts';
import type { Db } from '../../db/database.ts';
import type { KafkaClient } from '../../kafka/kafka-client.ts';
import { decodeCursor, page, pageQuery } from '../../http/pagination.ts';
import { problemOf } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';
import { adminCouponRowView, adminCouponView } from '../coupon-view.ts';
import { CouponHistory, type HistoryStep } from '../history/coupon-history.ts';
import { couponHolderBatches, holdersCsv, holdersJson } from '../holders/coupon-holders.ts';
import { couponIdIn, NO_COUPON, NOT_IN_READ_MODEL } from '../coupon-refusals.ts';
import { isCouponId } from '../ids.ts';

export interface AdminReadDeps {
  db: Db;
  kafka: KafkaClient;
  admission: AdmissionStore;
  verify: TokenVerifier;
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

/** Admin queries: the coupon read model with its counts, and a coupon's history read from the log itself. */
export function adminCouponRoutes(router: Router, deps: AdminReadDeps): void {
  const history = new CouponHistory(deps);
  const guard = [authenticate(deps.verify), requireAdmin] as const;
  holdersRoute(router, deps, guard);

  router.get('/admin/coupons', ...guard, async (ctx) => {
    const query = validate(adminCouponsQuery, ctx.query, 'query');
    let select = deps.db.selectFrom('coupon').selectAll();
    if (query.cursor) select = select.where('id', '<', decodeCursor(query.cursor));
    const rows = await select.orderBy('id', 'desc').limit(query.limit + 1).execute();
    const { items, nextCursor } = page(rows, query.limit, (r) => r.id);
    const now = Date.now();
    ctx.body = { items: items.map((r) => adminCouponRowView(r, now)), nextCursor };
  });

  router.get('/admin/coupons/:couponId', ...guard, async (ctx) => {
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
  });

  router.get('/admin/coupons/:couponId/events', ...guard, async (ctx) => {
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
    if (page.items.length === 0 && from === 0n && page.nextOffset === null && !(await exists())) {
      throw problemOf(NO_COUPON, undefined);
    }
    ctx.body = page;
  });
}

/** Every holder of a coupon with issue and use times, streamed from the read model (see coupon-holders.ts). */
function holdersRoute(router: Router, deps: AdminReadDeps, guard: readonly Middleware[]): void {
  router.get('/admin/coupons/:couponId/holders', ...guard, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    const { format } = validate(holdersQuery, ctx.query, 'query');
    if (!isCouponId(couponId) || !(await deps.db.selectFrom('coupon').select('id').where('id', '=', couponId).executeTakeFirst())) {
      throw problemOf(NOT_IN_READ_MODEL, undefined);
    }
    const holders = couponHolderBatches(deps.db, couponId);
    ctx.set('Content-Disposition', `attachment; filename="${couponId}-holders.${format}"`);
    ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json';
    ctx.body = Readable.from(format === 'csv' ? holdersCsv(holders) : holdersJson(holders));
  });
}

async function* ndjson(steps: AsyncIterable<HistoryStep>): AsyncGenerator<string> {
  for await (const { offset, event } of steps) yield `${JSON.stringify({ offset: Number(offset), ...event })}\n`;
}
