import { removeAllowList, replaceAllowList } from './allow-list-runs.ts';
import { z } from 'zod';
import { identityOf } from '../../auth/authenticate.ts';
import { requiredClaimsSchema } from '../../events/coupon-events.ts';
import { admissionRequestOf } from '../idempotency-key.ts';
import { readJsonBody } from '../../http/json-body.ts';
import { codesOf, Problem, problemFor } from '../../http/problem.ts';
import type { Route } from '../../http/route.ts';
import { validate } from '../../http/validate.ts';
import { COUPON_ID_PARAM, eventMeta, type CouponRouteDeps } from '../coupon-route-deps.ts';
import { ALLOW_LIST_REFUSALS, couponIdIn, ELIGIBILITY_REFUSALS, REMOVE_ALLOW_LIST_REFUSALS, UNANSWERED } from '../coupon-refusals.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { allowListChunks } from './allow-list-upload.ts';
import { requestBody } from '../../http/request-body.ts';

export const eligibilityRequest = z.strictObject({ requiredClaims: requiredClaimsSchema.nullable() });
export const allowListReplacedSchema = z.object({ id: z.string(), allowList: z.object({ version: z.number().int(), size: z.number().int() }) });

const eligibilityChangedSchema = eligibilityRequest.extend({ id: z.string() });

/**
 * Who may be issued a coupon, changed by an admin during its life: the claims required of a caller's token,
 * and the allow-list, uploaded in bulk. Each is checked inside the same atomic admission step as the stock.
 */
export const eligibilityRoutes = (deps: CouponRouteDeps): Route[] => [{
  method: 'put', path: '/admin/coupons/:couponId/eligibility', auth: 'admin', params: COUPON_ID_PARAM, idempotent: true,
  summary: 'The claims a caller\'s verified token must carry to be issued the coupon from now on (null: none). Checked in the same atomic step as the stock',
  tag: 'admin', body: eligibilityRequest, bodyRequired: true,
  notes: 'For each claim name, one of the values; a token claim holding a list matches when any item does; every name must match. ' +
    'A caller who does not qualify is answered 403 NOT_ELIGIBLE and takes no stock (SOLD_OUT, ended and closed come first).',
  answer: { status: 200, schema: eligibilityChangedSchema },
  problems: [...codesOf(ELIGIBILITY_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const couponId = couponIdIn(ctx);
    const { value, raw } = await readJsonBody(ctx);
    const { requiredClaims } = validate(eligibilityRequest, value);
    const request = admissionRequestOf(ctx, identityOf(ctx).userId, raw);
    const result = await deps.admission.changeEligibility(couponId, requiredClaims, uuidv7(), eventMeta(ctx), request);
    if (result.outcome !== 'ELIGIBILITY_CHANGED') throw problemFor(ELIGIBILITY_REFUSALS, { outcome: result.outcome });
    ctx.body = { id: couponId, requiredClaims };
  },
}, {
  method: 'put', path: '/admin/coupons/:couponId/allow-list', auth: 'admin', params: COUPON_ID_PARAM,
  summary: 'Replace the coupon\'s allow-list: only the users on it may be issued the coupon. Streamed in bounded memory; comes into force whole when the upload ends',
  tag: 'admin',
  rawBody: {
    'application/x-ndjson': { type: 'string', description: 'One user id per line: a JSON string, or {"userId": "…"}' },
    'text/csv': { type: 'string', description: 'User ids in the first column; a first line `userId` is a header' },
  },
  notes: 'Up to 5,000,000 ids, read in chunks of 1,000 as the body arrives (one CouponAllowListChunkAdded event each). A bad line answers 400 naming it, ' +
    'and the list in force stays as it was. A later upload for the same coupon supersedes one still running (409 UPLOAD_SUPERSEDED).',
  answer: { status: 200, schema: allowListReplacedSchema },
  problems: [...codesOf(ALLOW_LIST_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const couponId = couponIdIn(ctx);
    const format = ctx.is('application/x-ndjson', 'application/ndjson') ? 'ndjson' : ctx.is('text/csv') ? 'csv' : undefined;
    if (!format) throw new Problem('UNSUPPORTED_MEDIA_TYPE', 'Send the list as application/x-ndjson (one user id per line) or text/csv (user ids in the first column)');
    const result = await replaceAllowList(deps.admission, couponId, allowListChunks(requestBody(ctx), format), eventMeta(ctx));
    if (result.outcome !== 'REPLACED') throw problemFor(ALLOW_LIST_REFUSALS, result);
    ctx.body = { id: couponId, allowList: { version: result.version, size: result.size } };
  },
}, {
  method: 'delete', path: '/admin/coupons/:couponId/allow-list', auth: 'admin', params: COUPON_ID_PARAM,
  summary: 'Drop the allow-list: anyone (meeting the required claims) may be issued the coupon', tag: 'admin',
  answer: { status: 204 },
  problems: [...codesOf(REMOVE_ALLOW_LIST_REFUSALS), ...UNANSWERED],
  handler: async (ctx) => {
    const couponId = couponIdIn(ctx);
    const result = await removeAllowList(deps.admission, couponId, eventMeta(ctx));
    if (result.outcome !== 'REMOVED') throw problemFor(REMOVE_ALLOW_LIST_REFUSALS, { outcome: result.outcome });
    ctx.status = 204;
  },
}];
