import { z } from 'zod';
import { adminCouponsQuery, couponEventsQuery, holdersQuery } from '../coupons/admin-read/admin-coupon-routes.ts';
import { catalogQuery } from '../coupons/catalog/catalog-route.ts';
import { closedCouponSchema } from '../coupons/close/close-coupon-route.ts';
import { addStockRequest, stockAddedSchema } from '../coupons/stock/add-stock-route.ts';
import { changeWindowRequest, windowChangedSchema } from '../coupons/window/change-window-route.ts';
import { myCouponSchema, myCouponsQuery } from '../coupons/mine/my-coupons-route.ts';
import { adminCouponSchema, publicCouponSchema } from '../coupons/coupon-view.ts';
import { createCouponRequest } from '../coupons/create/create-coupon-request.ts';
import { issuedCouponSchema } from '../coupons/issue/issue-coupon-route.ts';
import { issuanceSchema } from '../coupons/read/read-coupon-routes.ts';
import { usedCouponSchema, useCouponRequest } from '../coupons/use/use-coupon-route.ts';
import { cancelUseRequest, useCancelledSchema } from '../coupons/cancel-use/cancel-use-route.ts';
import { revokedSchema } from '../coupons/revoke/revoke-unused-route.ts';
import { allowListReplacedSchema, eligibilityRequest } from '../coupons/eligibility/eligibility-routes.ts';
import { ISSUED_COUPON_STATUSES } from '../coupons/rules/coupon-rules.ts';
import { PROBLEMS, type ProblemCode } from '../http/problem.ts';
import { credentials, tokenSchema } from '../accounts/account-routes.ts';
import { deliveriesQuery, inboxQuery } from '../notifications/notification-routes.ts';

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the handlers validate and answer with.
 * A test checks that it lists exactly the routes the router serves.
 */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(PROBLEMS) },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

interface Operation {
  summary: string;
  tag: string;
  auth?: 'user' | 'admin';
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** An empty body is refused (400), so the document says the body is required. */
  bodyRequired?: boolean;
  /** A body that is not JSON: its media types and schemas (the body is then required). */
  rawBody?: Record<string, Record<string, unknown>>;
  /** Rules JSON Schema cannot carry (across fields), so clients and fuzzers know them. */
  notes?: string;
  idempotent?: boolean;
  ok: [status: number, schema: z.ZodType | Record<string, unknown>];
  /** Other media types the success answer may come as (chosen by a query parameter), with their schemas. */
  okAlso?: Record<string, Record<string, unknown>>;
  errors?: ProblemCode[];
}

function operation(op: Operation): Record<string, unknown> {
  const errors = new Set<ProblemCode>(op.errors ?? []);
  if (op.auth) errors.add('UNAUTHENTICATED');
  if (op.auth === 'admin') errors.add('FORBIDDEN');
  if (op.body || op.rawBody) ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'].forEach((c) => errors.add(c as ProblemCode));
  if (op.auth) errors.add('DEPENDENCY_UNAVAILABLE');
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of errors) byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  const [okStatus, okSchema] = op.ok;
  return {
    summary: op.summary,
    ...(op.notes ? { description: op.notes } : {}),
    tags: [op.tag],
    ...(op.auth ? { security: [{ bearer: [] }] } : {}),
    parameters: [
      ...Object.entries(op.params ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string', maxLength: 100 } })),
      ...Object.entries((op.query && (jsonSchema(op.query, 'input').properties as Record<string, unknown>)) ?? {}).map(([name, schema]) => ({
        name, in: 'query', required: false, schema,
      })),
      ...(op.idempotent ? [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' } }] : []),
    ],
    ...(op.body ? { requestBody: { required: op.bodyRequired ?? false, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
    ...(op.rawBody ? { requestBody: { required: true, content: Object.fromEntries(Object.entries(op.rawBody).map(([type, schema]) => [type, { schema }])) } } : {}),
    responses: {
      [okStatus]: okStatus === 204 ? { description: 'Done; no content' } : {
        description: 'Success',
        content: {
          'application/json': { schema: okSchema instanceof z.ZodType ? jsonSchema(okSchema, 'output') : okSchema },
          ...Object.fromEntries(Object.entries(op.okAlso ?? {}).map(([type, schema]) => [type, { schema }])),
        },
      },
      ...Object.fromEntries(
        [...byStatus].map(([status, codes]) => [
          status,
          { description: codes.join(', '), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
        ]),
      ),
    },
  };
}

const couponId = { couponId: 'The coupon id (UUIDv7)' };
const pageOf = (item: z.ZodType | Record<string, unknown>) => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: { items: { type: 'array', items: item instanceof z.ZodType ? jsonSchema(item, 'output') : item }, nextCursor: { type: ['string', 'null'] } },
});
const holderSchema = {
  type: 'object', required: ['issuedCouponId', 'userId', 'status', 'issuedAt', 'usedAt', 'orderId'],
  properties: {
    issuedCouponId: { type: 'string' }, userId: { type: 'string' }, status: { type: 'string', enum: [...ISSUED_COUPON_STATUSES] },
    issuedAt: { type: 'string', format: 'date-time' }, usedAt: { type: ['string', 'null'] }, orderId: { type: ['string', 'null'] },
  },
};
const statusOk = { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] };
const readinessSchema = {
  type: 'object', required: ['status'],
  properties: { status: { type: 'string', enum: ['ready', 'degraded'] }, degraded: { type: 'array', items: { type: 'string' } } },
};

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Coupon platform',
      version: '1',
      description: 'First-come-first-served coupons. Every error is application/problem+json with a `code`.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: problemSchema },
    },
    paths: {
      '/admin/coupons': {
        get: operation({
          summary: 'Coupons with their counts, newest first', tag: 'admin', auth: 'admin', query: adminCouponsQuery,
          ok: [200, pageOf(adminCouponSchema)], errors: ['VALIDATION_FAILED'],
        }),
        post: operation({
          summary: 'Create a coupon', tag: 'admin', auth: 'admin', body: createCouponRequest, bodyRequired: true, idempotent: true,
          notes: 'Also required, across fields: issueStartAt < issueEndAt, validFrom < validUntil, issueEndAt <= validUntil.',
          ok: [201, adminCouponSchema], errors: ['IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE', 'COUPON_CODE_TAKEN'],
        }),
      },
      '/admin/coupons/{couponId}': {
        get: operation({
          summary: 'A coupon with its issued and used counts', tag: 'admin', auth: 'admin', params: couponId,
          ok: [200, adminCouponSchema], errors: ['COUPON_NOT_FOUND'],
        }),
        patch: operation({
          summary: 'Move the issue window of a live coupon: the end to any future instant within validity, the start only before issuing begins. Atomic with its admissions',
          tag: 'admin', auth: 'admin', params: couponId, idempotent: true, body: changeWindowRequest, bodyRequired: true,
          ok: [200, windowChangedSchema], errors: ['VALIDATION_FAILED', 'COUPON_NOT_FOUND', 'COUPON_CLOSED', 'ISSUE_STARTED', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/admin/coupons/{couponId}/events': {
        get: operation({
          summary: "A coupon's events, read from the log, oldest first", tag: 'admin', auth: 'admin', params: couponId, query: couponEventsQuery,
          notes: 'A page reads only the offsets the history index names for this coupon (plus what the index has not reached yet), so it ' +
            'costs what the coupon\'s own events cost. `format=ndjson` streams every event from `fromOffset` to the end of the log as of ' +
            'the request, one JSON object per line, for auditors.',
          ok: [200, { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } }, nextOffset: { type: ['integer', 'null'] } } }],
          okAlso: { 'application/x-ndjson': { type: 'string' } },
          errors: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED'],
        }),
      },
      '/admin/coupons/{couponId}/holders': {
        get: operation({
          summary: "Every holder of a coupon (who won), with issue and use times, from the read model", tag: 'admin', auth: 'admin', params: couponId,
          query: holdersQuery,
          notes: 'Streamed in issue order, read in batches, so 100,000 holders cost one batch of memory. `format=csv` (a spreadsheet-safe CSV: ' +
            'cells that would start a formula are prefixed with a quote mark) or `format=json` (one JSON array).',
          ok: [200, { type: 'array', items: holderSchema }],
          okAlso: { 'text/csv': { type: 'string' } },
          errors: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED'],
        }),
      },
      '/admin/projections': {
        get: operation({
          summary: 'Each read model: lag behind the log, last event time, status', tag: 'admin', auth: 'admin',
          ok: [200, { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } } } }],
        }),
      },
      '/coupons': {
        get: operation({
          summary: 'Coupons a user can claim now (OPEN) or soon (UPCOMING: not started yet; their status is SCHEDULED), newest first', tag: 'coupons',
          auth: 'user', query: catalogQuery,
          notes: 'From the read model: stock is as of the last projected event. Without `status`, both. Coupons the caller is not eligible for ' +
            '(required claims, allow-list) are left out, so a page may hold fewer than `limit`: follow `nextCursor`.',
          ok: [200, pageOf(publicCouponSchema)], errors: ['VALIDATION_FAILED'],
        }),
      },
      '/me/coupons': {
        get: operation({
          summary: "The caller's coupons, newest first", tag: 'coupons', auth: 'user', query: myCouponsQuery,
          ok: [200, pageOf(myCouponSchema)], errors: ['VALIDATION_FAILED'],
        }),
      },
      '/admin/coupons/{couponId}/close': {
        post: operation({
          summary: 'Stop issuing a coupon now; issued coupons stay valid', tag: 'admin', auth: 'admin', params: couponId, idempotent: true,
          ok: [200, closedCouponSchema], errors: ['COUPON_NOT_FOUND', 'COUPON_CLOSED', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/admin/coupons/{couponId}/stock': {
        post: operation({
          summary: 'Add stock to a live coupon; a sold-out one admits again. Atomic with its admissions: never more issued than the total at the moment of each decision',
          tag: 'admin', auth: 'admin', params: couponId, idempotent: true, body: addStockRequest, bodyRequired: true,
          ok: [200, stockAddedSchema], errors: ['VALIDATION_FAILED', 'COUPON_NOT_FOUND', 'COUPON_CLOSED', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/coupons/{couponId}': {
        get: operation({
          summary: 'A coupon, current to the last admission', tag: 'coupons', auth: 'user', params: couponId,
          ok: [200, publicCouponSchema], errors: ['COUPON_NOT_FOUND'],
        }),
      },
      '/coupons/{couponId}/issue': {
        post: operation({
          summary: 'Ask for a coupon; the first N askers get one', tag: 'coupons', auth: 'user', params: couponId, idempotent: true,
          notes: 'OUTCOME_UNKNOWN: Redis did not answer in time and the request may have been issued; a retry answers ALREADY_ISSUED with the coupon if it was (or, with the same Idempotency-Key, the first 201).',
          ok: [201, issuedCouponSchema],
          errors: ['COUPON_NOT_FOUND', 'ALREADY_ISSUED', 'SOLD_OUT', 'ISSUE_NOT_STARTED', 'ISSUE_ENDED', 'COUPON_CLOSED', 'NOT_ELIGIBLE', 'RATE_LIMITED', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/coupons/by-code/{code}': {
        get: operation({
          summary: 'A coupon by its code (case-insensitive), exactly as GET /coupons/{couponId} answers', tag: 'coupons', auth: 'user', params: { code: 'The coupon code, e.g. K7QX-M2PD-9HTW' },
          ok: [200, publicCouponSchema], errors: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED'],
        }),
      },
      '/coupons/by-code/{code}/issue': {
        post: operation({
          summary: 'Ask for a coupon by its code: the same admission, answers and events as POST /coupons/{couponId}/issue', tag: 'coupons', auth: 'user',
          params: { code: 'The coupon code, e.g. K7QX-M2PD-9HTW' }, idempotent: true,
          ok: [201, issuedCouponSchema],
          errors: ['COUPON_NOT_FOUND', 'VALIDATION_FAILED', 'ALREADY_ISSUED', 'SOLD_OUT', 'ISSUE_NOT_STARTED', 'ISSUE_ENDED', 'COUPON_CLOSED', 'NOT_ELIGIBLE', 'RATE_LIMITED', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/coupons/{couponId}/issuance': {
        get: operation({
          summary: 'Whether the caller holds this coupon', tag: 'coupons', auth: 'user', params: couponId,
          ok: [200, issuanceSchema], errors: ['COUPON_NOT_FOUND'],
        }),
      },
      '/issued-coupons/{issuedCouponId}/use': {
        post: operation({
          summary: 'Use an issued coupon, once, inside its validity: the holder\'s own, or (a service token or an admin) a holder\'s named in userId', tag: 'coupons', auth: 'user',
          params: { issuedCouponId: 'The issued coupon id' }, body: useCouponRequest, idempotent: true, ok: [200, usedCouponSchema],
          notes: 'A holder sends no userId (403 FORBIDDEN if they do). The order system (role service) must name the holder it acts for; the coupon must be theirs (404 otherwise).',
          errors: ['FORBIDDEN', 'ISSUED_COUPON_NOT_FOUND', 'ALREADY_USED', 'COUPON_REVOKED', 'COUPON_NOT_YET_VALID', 'COUPON_EXPIRED', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE', 'RATE_LIMITED'],
        }),
      },
      '/issued-coupons/{issuedCouponId}/cancel-use': {
        post: operation({
          summary: 'The order that used the coupon was cancelled: the use is undone (by the order system, a service token, or an admin; a holder is 403); the coupon is ISSUED again inside its validity, EXPIRED after it, REVOKED once revoke-unused has run',
          tag: 'coupons', auth: 'user', params: { issuedCouponId: 'The issued coupon id' }, body: cancelUseRequest, idempotent: true, ok: [200, useCancelledSchema],
          notes: '`orderId` must be the order the use named (absent for a use that named none). The same cancellation asked again answers the same 200.',
          errors: ['VALIDATION_FAILED', 'FORBIDDEN', 'ISSUED_COUPON_NOT_FOUND', 'NOT_USED', 'ORDER_MISMATCH', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/admin/coupons/{couponId}/eligibility': {
        put: operation({
          summary: 'The claims a caller\'s verified token must carry to be issued the coupon from now on (null: none). Checked in the same atomic step as the stock',
          tag: 'admin', auth: 'admin', params: couponId, idempotent: true, body: eligibilityRequest, bodyRequired: true,
          notes: 'For each claim name, one of the values; a token claim holding a list matches when any item does; every name must match. ' +
            'A caller who does not qualify is answered 403 NOT_ELIGIBLE and takes no stock (SOLD_OUT, ended and closed come first).',
          ok: [200, eligibilityRequest.extend({ id: z.string() })], errors: ['COUPON_NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/admin/coupons/{couponId}/allow-list': {
        put: operation({
          summary: 'Replace the coupon\'s allow-list: only the users on it may be issued the coupon. Streamed in bounded memory; comes into force whole when the upload ends',
          tag: 'admin', auth: 'admin', params: couponId,
          rawBody: { 'application/x-ndjson': { type: 'string', description: 'One user id per line: a JSON string, or {"userId": "…"}' }, 'text/csv': { type: 'string', description: 'User ids in the first column; a first line `userId` is a header' } },
          notes: 'Up to 5,000,000 ids, read in chunks of 1,000 as the body arrives (one CouponAllowListChunkAdded event each). A bad line answers 400 naming it, ' +
            'and the list in force stays as it was. A later upload for the same coupon supersedes one still running (409 UPLOAD_SUPERSEDED).',
          ok: [200, allowListReplacedSchema], errors: ['COUPON_NOT_FOUND', 'UPLOAD_SUPERSEDED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
        delete: operation({
          summary: 'Drop the allow-list: anyone (meeting the required claims) may be issued the coupon', tag: 'admin', auth: 'admin', params: couponId,
          ok: [204, {}], errors: ['COUPON_NOT_FOUND', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/admin/coupons/{couponId}/revoke-unused': {
        post: operation({
          summary: 'End a campaign: close issuing and revoke every issued coupon not in use (stock is not returned; holders get a COUPON_REVOKED notice)',
          tag: 'admin', auth: 'admin', params: couponId, idempotent: true, ok: [200, revokedSchema],
          notes: 'Revokes in atomic chunks of at most 1,000 holders, each one CouponsRevoked event; a use racing it either comes first (USED) or finds the coupon REVOKED. A run cut short is finished by running it again. `revokedCount` is the coupon\'s revoked total.',
          errors: ['COUPON_NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED', 'OUTCOME_UNKNOWN', 'EVENT_LOG_UNAVAILABLE'],
        }),
      },
      '/auth/signup': {
        post: operation({
          summary: 'Create an account', tag: 'accounts', body: credentials, bodyRequired: true,
          ok: [201, { type: 'object', properties: { userId: { type: 'string' } }, required: ['userId'] }],
          errors: ['EMAIL_TAKEN', 'RATE_LIMITED'],
        }),
      },
      '/auth/login': {
        post: operation({ summary: 'Get an access token', tag: 'accounts', body: credentials, bodyRequired: true, ok: [200, tokenSchema], errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'] }),
      },
      '/me/notifications': {
        get: operation({
          summary: "The caller's notices, newest first", tag: 'coupons', auth: 'user', query: inboxQuery,
          ok: [200, pageOf({ type: 'object' })], errors: ['VALIDATION_FAILED'],
        }),
      },
      '/admin/jobs/expiry-notices': {
        post: operation({
          summary: 'Run the expiry scan now; safe to repeat', tag: 'admin', auth: 'admin',
          ok: [200, { type: 'object', properties: { scanned: { type: 'integer' }, notified: { type: 'integer' } } }],
        }),
      },
      '/admin/deliveries': {
        get: operation({
          summary: 'Notice deliveries by status (DEAD by default)', tag: 'admin', auth: 'admin', query: deliveriesQuery,
          ok: [200, pageOf({ type: 'object' })], errors: ['VALIDATION_FAILED'],
        }),
      },
      '/admin/deliveries/{notificationId}/{channel}/retry': {
        post: operation({
          summary: 'Send a dead delivery again', tag: 'admin', auth: 'admin',
          params: { notificationId: 'The notice', channel: 'webhook or email' },
          ok: [200, { type: 'object' }], errors: ['NOT_FOUND', 'DELIVERY_NOT_DEAD'],
        }),
      },
      '/healthz': { get: operation({ summary: 'The process is up', tag: 'operations', ok: [200, statusOk] }) },
      '/readyz': {
        get: operation({ summary: 'Redis, MySQL and Kafka answer, and no worker loop is stuck; status `degraded` (still 200) when an outbox shard is at its bound and changes answer 503 EVENT_LOG_UNAVAILABLE', tag: 'operations', ok: [200, readinessSchema], errors: ['DEPENDENCY_UNAVAILABLE', 'LOOP_STUCK'] }),
      },
      '/admin/dashboard': {
        get: {
          summary: 'The live dashboard: a page that signs in with an admin token and shows /admin/dashboard/events as it happens', tags: ['operations'],
          responses: { 200: { description: 'HTML (no data in it)', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
      '/admin/dashboard/events': {
        get: operation({
          summary: 'Server-Sent Events, one snapshot a second: per coupon issued, remaining and issued per second; issue outcomes and p99 of this API process; outbox depth; projection lag',
          tag: 'admin', auth: 'admin', ok: [200, { type: 'string' }], okAlso: { 'text/event-stream': { type: 'string' } },
        }),
      },
      '/assets/uplot.js': {
        get: { summary: 'The chart library the dashboard uses (uPlot, from npm)', tags: ['operations'], responses: { 200: { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } } } },
      },
      '/assets/uplot.css': {
        get: { summary: 'Its style sheet', tags: ['operations'], responses: { 200: { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } } } },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics of this process (see README "Metrics")', tags: ['operations'],
          responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': { get: operation({ summary: 'This document', tag: 'operations', ok: [200, { type: 'object' }] }) },
      '/docs': {
        get: {
          summary: 'This document as a page', tags: ['operations'],
          responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
    },
  };
}
