import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import type { EligibilityClaims } from '../../auth/identity.ts';
import type { RequiredClaims } from '../../events/coupon-events.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';
import { meetsConditions } from '../eligibility/may-claim.ts';
import type { Db } from '../../db/database.ts';
import { pageOf } from '../../http/json-schema.ts';
import { decodeCursor, page, pageQuery } from '../../http/pagination.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { publicCouponRowView, publicCouponSchema } from '../coupon-view.ts';
import { catalogRows, type ListedStatus } from '../../../projections/coupon/catalog-query.ts';

/** The rules' statuses each catalog filter lists. */
const LISTED = { OPEN: ['OPEN'], UPCOMING: ['SCHEDULED'], ANY: ['OPEN', 'SCHEDULED'] } as const satisfies Record<string, readonly ListedStatus[]>;

export const catalogQuery = z.strictObject({ status: z.enum(['OPEN', 'UPCOMING']).optional(), ...pageQuery });

/**
 * `GET /coupons`: what the caller can claim now (OPEN: inside its issue window, not closed, stock left in the read
 * model) or soon (UPCOMING: its window not started), newest first. From the read model, so stock is as of the
 * projection (seconds behind an opening at most); the issue route is what decides. A coupon the caller is not
 * eligible for (its required claims, its allow-list in force) is left out of the page, so a page may hold fewer
 * than `limit`; `nextCursor` goes on from where the page's rows ended.
 */
export const catalogRoute = (deps: { db: Db; admission: AdmissionStore }): Route => ({
  method: 'get', path: '/coupons', auth: 'token', query: catalogQuery, tag: 'coupons',
  summary: 'Coupons a user can claim now (OPEN) or soon (UPCOMING: not started yet; their status is SCHEDULED), newest first',
  notes: 'From the read model: stock is as of the last projected event. Without `status`, both. Coupons the caller is not eligible for ' +
    '(required claims, allow-list) are left out, so a page may hold fewer than `limit`: follow `nextCursor`.',
  answer: { status: 200, schema: pageOf(publicCouponSchema) }, problems: ['VALIDATION_FAILED'],
  handler: async (ctx) => {
    const { userId, claims } = identityOf(ctx);
    const callerClaims = JSON.parse(claims) as EligibilityClaims;
    const query = validate(catalogQuery, ctx.query, 'query');
    const now = new Date();
    const rows = await catalogRows(deps.db, LISTED[query.status ?? 'ANY'], now, { before: query.cursor ? decodeCursor(query.cursor) : undefined, limit: query.limit });
    const { items, nextCursor } = page(rows, query.limit, (r) => r.id);
    const eligible = await Promise.all(items.map((r) => meetsConditions(deps.admission, r.id, userId, callerClaims,
      r.required_claims ? (JSON.parse(r.required_claims) as RequiredClaims) : undefined, r.allow_list_version !== null)));
    ctx.body = { items: items.filter((_, i) => eligible[i]).map((r) => publicCouponRowView(r, now.getTime())), nextCursor };
  },
});
