import type Router from '@koa/router';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import { authenticate, requireAdmin } from '../../auth/authenticate.ts';
import type { TokenVerifier } from '../../auth/token-verifier.ts';
import type { Db } from '../../db/database.ts';
import type { CouponTable } from '../../db/schema.ts';
import { parseCouponEvent } from '../../events/coupon-events.ts';
import { partitionFor, type KafkaClient } from '../../kafka/kafka-client.ts';
import { decodeCursor, page, pageQuery } from '../../http/pagination.ts';
import { Problem } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';
import { adminCouponView, couponStatus, type adminCouponSchema } from '../coupon-view.ts';
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
export const couponEventsQuery = z.strictObject({
  fromOffset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** How much of a partition one events page may scan for the coupon's key before it answers. */
const SCAN_LIMIT = 5_000;

function rowView(row: Selectable<CouponTable>, now: number): z.infer<typeof adminCouponSchema> {
  const definition = {
    name: row.name,
    totalQuantity: row.total_quantity,
    discount: { type: row.discount_type, value: Number(row.discount_value) } as never,
    issueStartAt: row.issue_start_at.toISOString(),
    issueEndAt: row.issue_end_at.toISOString(),
    validFrom: row.valid_from.toISOString(),
    validUntil: row.valid_until.toISOString(),
  };
  return {
    id: row.id,
    ...definition,
    remainingQuantity: Math.max(0, row.total_quantity - row.issued_count),
    status: couponStatus({ closed: row.status === 'CLOSED', issuedCount: row.issued_count, definition }, now),
    issuedCount: row.issued_count,
    usedCount: row.used_count,
    createdAt: row.created_at.toISOString(),
    closedAt: row.closed_at?.toISOString() ?? null,
  };
}

/** Admin queries: the coupon read model with its counts, and a coupon's history read from the log itself. */
export function adminCouponRoutes(router: Router, deps: AdminReadDeps): void {
  const guard = [authenticate(deps.verify), requireAdmin] as const;

  router.get('/admin/coupons', ...guard, async (ctx) => {
    const query = validate(adminCouponsQuery, ctx.query, 'query');
    let select = deps.db.selectFrom('coupon').selectAll();
    if (query.cursor) select = select.where('id', '<', decodeCursor(query.cursor));
    const rows = await select.orderBy('id', 'desc').limit(query.limit + 1).execute();
    const { items, nextCursor } = page(rows, query.limit, (r) => r.id);
    const now = Date.now();
    ctx.body = { items: items.map((r) => rowView(r, now)), nextCursor };
  });

  router.get('/admin/coupons/:couponId', ...guard, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    const row = await deps.db.selectFrom('coupon').selectAll().where('id', '=', couponId).executeTakeFirst();
    if (row) {
      ctx.body = rowView(row, Date.now());
      return;
    }
    // Created a moment ago and not projected yet: admission state already knows it.
    const snapshot = await deps.admission.snapshot(couponId);
    if (!snapshot) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    ctx.body = adminCouponView(couponId, snapshot);
  });

  router.get('/admin/coupons/:couponId/events', ...guard, async (ctx) => {
    const { couponId } = ctx.params as { couponId: string };
    const query = validate(couponEventsQuery, ctx.query, 'query');
    if (!isCouponId(couponId)) throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    const partition = partitionFor(couponId, deps.partitions);
    const end = await deps.kafka.endOffset(deps.topic, partition);
    const from = BigInt(query.fromOffset);
    const items: unknown[] = [];
    let next: bigint | null = null;
    if (from < end) {
      let scanned = 0;
      const messages = await deps.kafka.readPartition(deps.topic, partition, from.toString(), (m) => {
        scanned++;
        if (m.key === couponId) items.push({ offset: Number(m.offset), ...parseCouponEvent(JSON.parse(m.value!)) });
        return items.length >= query.limit || scanned >= SCAN_LIMIT || BigInt(m.offset) >= end - 1n;
      }, 30_000);
      const last = BigInt(messages[messages.length - 1]!.offset);
      next = last + 1n < end ? last + 1n : null;
    }
    if (items.length === 0 && from === 0n && !(await deps.admission.snapshot(couponId))) {
      throw new Problem('COUPON_NOT_FOUND', 'No coupon has this id');
    }
    ctx.body = { items, nextOffset: next === null ? null : Number(next) };
  });
}
