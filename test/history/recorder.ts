import { issuedCouponId } from '../../src/ids/ids.ts';

/** What a client asks of the platform; `create` only at set-up and when a closed coupon is replaced. */
export type Kind = 'create' | 'issue' | 'use' | 'cancel' | 'revoke' | 'stock' | 'window' | 'allow-list' | 'drop-allow-list' | 'close';
export type Role = 'user' | 'service' | 'admin';

export interface Actor {
  userId: string;
  role: Role;
}

export interface Params {
  /** use, cancel: the issued coupon's place in its coupon's issue order. */
  sequence?: number;
  /** use: the holder a service or an admin names (a holder names nobody). */
  onBehalfOf?: string;
  /** use, cancel: the order; absent for none. */
  orderId?: string;
  add?: number;
  issueStartAt?: string;
  issueEndAt?: string;
  /** allow-list: the ids uploaded. */
  userIds?: string[];
  /** create: the definition sent. */
  definition?: Record<string, unknown>;
}

/**
 * `answered`: the platform said what happened. `unknown`: it may or may not have happened (503 OUTCOME_UNKNOWN,
 * a client timeout, a connection cut mid-request, a 500). `nothing`: it is known not to have happened (the
 * connection was refused, or a one-step route's 503 DEPENDENCY_UNAVAILABLE, which says the call never ran).
 */
export type Answer =
  | { type: 'answered'; status: number; code?: string; body: Record<string, unknown>; replayed: boolean }
  | { type: 'unknown'; why: string }
  | { type: 'nothing'; why: string };

/** One HTTP request: its id is the X-Request-Id it was sent with, which the events it caused carry as meta.requestId. */
export interface Operation {
  id: string;
  client: string;
  kind: Kind;
  couponId: string;
  actor: Actor;
  params: Params;
  /** The Idempotency-Key, when one was sent: requests with the same actor and key are one decision. */
  key?: string;
  /** The API process it was sent to (its base URL). */
  api?: string;
  invokedAt: number;
  completedAt: number;
  answer: Answer;
}

/** Routes whose one decision either ran or did not: a 503 that says "not reached" means nothing changed. */
const ONE_STEP: ReadonlySet<Kind> = new Set(['create', 'issue', 'use', 'cancel', 'stock', 'window', 'close', 'drop-allow-list']);

function route(kind: Kind, couponId: string, p: Params): { method: string; path: string; body?: string; type?: string } {
  const json = (value: object) => JSON.stringify(value);
  const issued = () => issuedCouponId(couponId, p.sequence!);
  switch (kind) {
    case 'create': return { method: 'POST', path: '/admin/coupons', body: json(p.definition!) };
    case 'issue': return { method: 'POST', path: `/coupons/${couponId}/issue` };
    case 'use': return { method: 'POST', path: `/issued-coupons/${issued()}/use`, body: json({ orderId: p.orderId, userId: p.onBehalfOf }) };
    case 'cancel': return { method: 'POST', path: `/issued-coupons/${issued()}/cancel-use`, body: json({ orderId: p.orderId }) };
    case 'revoke': return { method: 'POST', path: `/admin/coupons/${couponId}/revoke-unused` };
    case 'stock': return { method: 'POST', path: `/admin/coupons/${couponId}/stock`, body: json({ add: p.add }) };
    case 'window': return { method: 'PATCH', path: `/admin/coupons/${couponId}`, body: json({ issueStartAt: p.issueStartAt, issueEndAt: p.issueEndAt }) };
    case 'allow-list':
      return { method: 'PUT', path: `/admin/coupons/${couponId}/allow-list`, body: p.userIds!.map((id) => JSON.stringify(id)).join('\n'), type: 'application/x-ndjson' };
    case 'drop-allow-list': return { method: 'DELETE', path: `/admin/coupons/${couponId}/allow-list` };
    case 'close': return { method: 'POST', path: `/admin/coupons/${couponId}/close` };
  }
}

/** What a failed fetch means: refused before anything was sent is nothing; anything later may have happened. */
function failure(error: unknown): Answer {
  const cause = (error as { cause?: { code?: string } }).cause;
  if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') return { type: 'unknown', why: 'client timeout' };
  if (cause?.code === 'ECONNREFUSED') return { type: 'nothing', why: 'connection refused' };
  return { type: 'unknown', why: `connection: ${cause?.code ?? (error as Error).message}` };
}

function classify(kind: Kind, status: number, body: Record<string, unknown>, replayed: boolean): Answer {
  // A problem's code; a 2xx body may have a field named code too (a coupon's own code).
  const code = status >= 400 && typeof body.code === 'string' ? body.code : undefined;
  if (status === 503 && code !== 'OUTCOME_UNKNOWN' && ONE_STEP.has(kind)) return { type: 'nothing', why: `503 ${code}` };
  if (status === 503 || status >= 500) return { type: 'unknown', why: `${status} ${code ?? ''}`.trim() };
  if (status === 429) return { type: 'nothing', why: '429 RATE_LIMITED' };
  return { type: 'answered', status, ...(code ? { code } : {}), body, replayed };
}

/** Sends requests and keeps every one with its answer, in the order they were sent. */
export class Recorder {
  readonly operations: Operation[] = [];
  private sent = 0;

  private readonly tokenOf: (actor: Actor) => Promise<string>;

  constructor(tokenOf: (actor: Actor) => Promise<string>) {
    this.tokenOf = tokenOf;
  }

  async send(request: { client: string; kind: Kind; couponId: string; actor: Actor; params: Params; key?: string; api: string; timeoutMs: number }): Promise<Operation> {
    const { client, kind, couponId, actor, params, key, api, timeoutMs } = request;
    const id = `${client}.${++this.sent}`;
    const { method, path, body, type } = route(kind, couponId, params);
    const headers: Record<string, string> = { authorization: `Bearer ${await this.tokenOf(actor)}`, 'x-request-id': id };
    if (body !== undefined) headers['content-type'] = type ?? 'application/json';
    if (key !== undefined) headers['idempotency-key'] = key;
    const invokedAt = Date.now();
    let answer: Answer;
    try {
      const res = await fetch(`${api}${path}`, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      answer = classify(kind, res.status, parsed, res.headers.get('idempotent-replayed') === 'true');
    } catch (error) {
      answer = failure(error);
    }
    const created = kind === 'create' && answer.type === 'answered' ? String(answer.body.id ?? '') : couponId;
    const op: Operation = { id, client, kind, couponId: created, actor, params, ...(key ? { key } : {}), api, invokedAt, completedAt: Date.now(), answer };
    this.operations.push(op);
    return op;
  }
}
