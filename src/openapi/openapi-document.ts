import { z } from 'zod';
import { jsonSchema } from '../http/json-schema.ts';
import { PROBLEMS, type ProblemCode } from '../http/problem.ts';
import type { JsonSchema, Route } from '../http/route.ts';

/**
 * The OpenAPI 3.1 document, made from the routes the router serves: their zod schemas (the ones the handlers
 * validate and answer with), auth levels and problems (from the refusal tables). A test checks both agree.
 */
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

const BODY_PROBLEMS: ProblemCode[] = ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

/** What a route may answer besides its success: its own problems, then those its guard and its body reader answer. */
function problemsOf(route: Route): Set<ProblemCode> {
  const codes = new Set<ProblemCode>(route.problems ?? []);
  if (route.auth !== 'public') codes.add('UNAUTHENTICATED');
  if (route.auth === 'admin') codes.add('FORBIDDEN');
  if (route.body || route.rawBody) BODY_PROBLEMS.forEach((code) => codes.add(code));
  if (route.auth !== 'public') codes.add('DEPENDENCY_UNAVAILABLE');
  return codes;
}

/** `/coupons/:couponId` as OpenAPI writes it: `/coupons/{couponId}`. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

function parameters(route: Route): JsonSchema[] {
  const named = [...route.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
  const described = Object.keys(route.params ?? {});
  if (named.join() !== described.join()) throw new Error(`${route.path}: describe its parameters ${named.join(', ')} (described: ${described.join(', ')})`);
  const query = route.query ? (jsonSchema(route.query, 'input').properties as Record<string, unknown>) : {};
  return [
    ...Object.entries(route.params ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string', maxLength: 100 } })),
    ...Object.entries(query).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
    ...(route.idempotent ? [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' } }] : []),
  ];
}

function requestBody(route: Route): JsonSchema {
  if (route.body) return { requestBody: { required: route.bodyRequired ?? false, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } };
  if (route.rawBody) return { requestBody: { required: true, content: Object.fromEntries(Object.entries(route.rawBody).map(([type, schema]) => [type, { schema }])) } };
  return {};
}

function responses(route: Route): JsonSchema {
  const { status, schema, type = 'application/json', description = 'Success', also = {} } = route.answer;
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of problemsOf(route)) byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  return {
    [status]: status === 204 ? { description: 'Done; no content' } : {
      description,
      content: {
        [type]: { schema: schema instanceof z.ZodType ? jsonSchema(schema, 'output') : schema },
        ...Object.fromEntries(Object.entries(also).map(([media, alsoSchema]) => [media, { schema: alsoSchema }])),
      },
    },
    ...Object.fromEntries([...byStatus].map(([problemStatus, codes]) => [
      problemStatus,
      { description: codes.join(', '), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ])),
  };
}

function operation(route: Route): JsonSchema {
  return {
    summary: route.summary,
    ...(route.notes ? { description: route.notes } : {}),
    tags: [route.tag],
    // OpenAPI 3.1 lets a bearer scheme name the role a route requires.
    ...(route.auth !== 'public' ? { security: [{ bearer: route.auth === 'admin' ? ['admin'] : [] }] } : {}),
    parameters: parameters(route),
    ...requestBody(route),
    responses: responses(route),
  };
}

export function openApiDocument(routes: readonly Route[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route);
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
    paths,
  };
}
