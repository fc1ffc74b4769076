import Router, { type RouterMiddleware } from '@koa/router';
import type { z } from 'zod';
import { authenticate, requireAdmin } from '../auth/authenticate.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { ProblemCode } from './problem.ts';

/** Who may call a route: anyone; the bearer of any verified token (a user, the order system, an admin); an admin. */
export type AuthLevel = 'public' | 'token' | 'admin';

export type JsonSchema = Record<string, unknown>;

/** The success answer: its status and body, described for the OpenAPI document. */
export interface Answer {
  status: number;
  /** The zod schema the body is built to, or a JSON Schema for a body zod does not describe; none for 204. */
  schema?: z.ZodType | JsonSchema;
  /** The body's media type when it is not JSON. */
  type?: string;
  description?: string;
  /** Other media types the answer may come as (chosen by a query parameter), with their schemas. */
  also?: Record<string, JsonSchema>;
}

/**
 * One route, described once: the router registers it (with the guard its auth level names) and the OpenAPI
 * document is made from it. The handler reads and validates its own input, with the schemas named here.
 */
export interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa style: `/coupons/:couponId`. */
  path: string;
  auth: AuthLevel;
  summary: string;
  tag: string;
  /** Rules JSON Schema cannot carry (across fields, or about answers), so clients and fuzzers know them. */
  notes?: string;
  /** A description of each path parameter. */
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** An empty body is refused (400), so the document says the body is required. */
  bodyRequired?: boolean;
  /** A body that is not JSON: its media types and schemas (the body is then required). */
  rawBody?: Record<string, JsonSchema>;
  /** It takes an Idempotency-Key. */
  idempotent?: boolean;
  answer: Answer;
  /**
   * The problems the handler answers, from its decision's refusal table and its own checks; those of its auth
   * level and of reading a body are known from the rest of the route.
   */
  problems?: readonly ProblemCode[];
  handler: RouterMiddleware;
}

/** The router of a list of routes: every route behind the guard of its auth level, so none can forget it. */
export function routerOf(routes: readonly Route[], verify?: TokenVerifier): Router {
  const router = new Router();
  const authenticated = verify && (authenticate(verify) as RouterMiddleware);
  const guards: Record<AuthLevel, RouterMiddleware[] | undefined> = {
    public: [],
    token: authenticated && [authenticated],
    admin: authenticated && [authenticated, requireAdmin as RouterMiddleware],
  };
  for (const route of routes) {
    const guard = guards[route.auth];
    if (!guard) throw new Error(`${route.method.toUpperCase()} ${route.path} needs a token verifier`);
    router[route.method](route.path, ...guard, route.handler);
  }
  return router;
}
