import { issuedCouponId } from '../../src/ids/ids.ts';
import { decide, may, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { PROBLEMS, type ProblemCode } from '../../src/http/problem.ts';
import type { Answer, Operation } from './recorder.ts';

/**
 * What the rules (coupon-rules.ts: `decide`, `may`) say an operation does in a given state at a given instant:
 * the HTTP answer and, when the decision changes something, the event that records it. Only the mapping
 * between HTTP and the rules' commands and decisions lives here, so the checker follows the rules as they change.
 */
export interface Expected {
  status: number;
  code?: string;
  /** Fields the answer's body must carry with these values (instants compared as instants). */
  body?: Record<string, unknown>;
}

export interface Verdict {
  answer: Expected;
  /** The event that records the change, with the data it must carry; absent when nothing changes. */
  event?: { type: CouponEvent['type']; data: Record<string, unknown> };
}

const problem = (code: ProblemCode | string): Expected => ({ status: PROBLEMS[code as ProblemCode]?.status ?? 0, code });
const ms = (instant: string | undefined) => (instant === undefined ? undefined : Date.parse(instant));

function issue(op: Operation, state: AdmissionCoupon | undefined, now: number): Verdict {
  if (!may(op.actor.role, 'issue')) return { answer: problem('FORBIDDEN') };
  const userId = op.actor.userId;
  const d = decide({ type: 'IssueCoupon', userId, claims: {} }, state, now);
  if (d.outcome === 'ISSUED') {
    const id = issuedCouponId(op.couponId, d.sequence);
    return { answer: { status: 201, body: { issuedCouponId: id } }, event: { type: 'CouponIssued', data: { issuedCouponId: id, userId } } };
  }
  if (d.outcome === 'ALREADY_ISSUED') return { answer: { ...problem(d.outcome), body: { issuedCouponId: issuedCouponId(op.couponId, d.sequence) } } };
  return { answer: problem(d.outcome) };
}

function use(op: Operation, state: AdmissionCoupon | undefined, now: number): Verdict {
  const { role, userId } = op.actor;
  const { onBehalfOf, sequence, orderId } = op.params;
  if (onBehalfOf === undefined && role === 'service') return { answer: problem('VALIDATION_FAILED') };
  if (onBehalfOf !== undefined && !may(role, 'useOnBehalf')) return { answer: problem('FORBIDDEN') };
  const holder = onBehalfOf ?? userId;
  const d = decide({ type: 'UseCoupon', sequence: sequence!, userId: holder }, state, now);
  const id = issuedCouponId(op.couponId, sequence!);
  if (d.outcome === 'USED') {
    return {
      answer: { status: 200, body: { status: 'USED', usedAt: now } },
      event: { type: 'CouponUsed', data: { issuedCouponId: id, userId: holder, orderId: orderId ?? null, useGeneration: d.generation, useSequence: state!.usedCount + 1 } },
    };
  }
  if (d.outcome === 'ALREADY_USED') return { answer: { ...problem(d.outcome), body: { usedAt: d.usedAt } } };
  return { answer: problem(d.outcome) };
}

function cancel(op: Operation, state: AdmissionCoupon | undefined, now: number): Verdict {
  if (!may(op.actor.role, 'cancelUse')) return { answer: problem('FORBIDDEN') };
  const { sequence, orderId } = op.params;
  const d = decide({ type: 'CancelUse', sequence: sequence!, orderId: orderId ?? null }, state, now);
  if (d.outcome === 'USE_CANCELLED') {
    const data = { issuedCouponId: issuedCouponId(op.couponId, sequence!), orderId: orderId ?? null, useGeneration: d.generation, cancelSequence: state!.cancelledCount + 1 };
    return { answer: { status: 200, body: { status: d.status } }, event: { type: 'CouponUseCancelled', data } };
  }
  if (d.outcome === 'ALREADY_CANCELLED') return { answer: { status: 200, body: { status: d.status } } };
  return { answer: problem(d.outcome) };
}

function admin(op: Operation, state: AdmissionCoupon | undefined, now: number): Verdict {
  const { add, issueStartAt, issueEndAt } = op.params;
  if (op.kind === 'stock') {
    const d = decide({ type: 'AddStock', add: add! }, state, now);
    if (d.outcome !== 'STOCK_ADDED') return { answer: problem(d.outcome === 'STOCK_LIMIT' ? 'VALIDATION_FAILED' : d.outcome) };
    return { answer: { status: 200, body: { totalQuantity: d.totalQuantity } }, event: { type: 'CouponStockAdded', data: { add, totalQuantity: d.totalQuantity } } };
  }
  if (op.kind === 'window') {
    const d = decide({ type: 'ChangeIssueWindow', issueStartAt: ms(issueStartAt), issueEndAt: ms(issueEndAt) }, state, now);
    if (d.outcome !== 'WINDOW_CHANGED') return { answer: problem(d.outcome === 'WINDOW_INVALID' ? 'VALIDATION_FAILED' : d.outcome) };
    const window = { issueStartAt: d.issueStartAt, issueEndAt: d.issueEndAt };
    return { answer: { status: 200, body: window }, event: { type: 'CouponIssueWindowChanged', data: window } };
  }
  const d = decide({ type: 'CloseIssuance' }, state, now);
  if (d.outcome !== 'CLOSED') return { answer: problem(d.outcome) };
  return { answer: { status: 200, body: { status: 'CLOSED', closedAt: now } }, event: { type: 'CouponIssuanceClosed', data: {} } };
}

/**
 * revoke-unused closes issuing, then revokes every holder's unused coupon: its answer, the revoked total, holds
 * where the coupon is closed and nothing is left to revoke. A point where the rules would still change
 * something (close, or revoke a holder) cannot explain it.
 */
function revoke(op: Operation, state: AdmissionCoupon | undefined, now: number): Verdict {
  const closed = decide({ type: 'CloseIssuance' }, state, now);
  if (closed.outcome === 'COUPON_NOT_FOUND') return { answer: problem(closed.outcome) };
  if (closed.outcome === 'CLOSED') return { answer: { status: 200 }, event: { type: 'CouponIssuanceClosed', data: {} } };
  const d = decide({ type: 'RevokeUnused', holders: [...state!.holders] }, state, now);
  if (d.outcome !== 'REVOKED') return { answer: problem(d.outcome) };
  const answer = { status: 200, body: { status: 'CLOSED', revokedCount: d.revokedCount } };
  return d.sequences.length === 0 ? { answer } : { answer, event: { type: 'CouponsRevoked', data: { revoked: d.sequences.map((s) => issuedCouponId(op.couponId, s)) } } };
}

/** One chunk of a revoke run, as `decide` takes it: the holders the event names, each revoked only if unused. */
export function revokeChunk(op: Operation, holders: [string, number][], state: AdmissionCoupon | undefined, now: number): Verdict {
  const d = decide({ type: 'RevokeUnused', holders }, state, now);
  if (d.outcome !== 'REVOKED') return { answer: problem(d.outcome) };
  const revoked = d.sequences.map((s) => issuedCouponId(op.couponId, s)).sort();
  return { answer: { status: 200 }, event: { type: 'CouponsRevoked', data: { revoked, revokedCount: d.revokedCount } } };
}

/** The verdict of the rules; allow-list uploads have no decision in the rules (see checker.ts), only "not found". */
export function verdict(op: Operation, state: AdmissionCoupon | undefined, now: number): Verdict {
  switch (op.kind) {
    case 'issue': return issue(op, state, now);
    case 'use': return use(op, state, now);
    case 'cancel': return cancel(op, state, now);
    case 'revoke': return revoke(op, state, now);
    case 'stock': case 'window': case 'close': return admin(op, state, now);
    case 'create': return state ? { answer: problem('COUPON_NOT_FOUND') } : { answer: { status: 201 }, event: { type: 'CouponCreated', data: {} } };
    case 'allow-list': case 'drop-allow-list': return { answer: state ? { status: 0, code: '(not 404: an upload is judged by its own events)' } : problem('COUPON_NOT_FOUND') };
  }
}

/** Values equal, an instant given as a number equal to one given as an ISO string, lists equal as sorted sets. */
export function same(expected: unknown, actual: unknown): boolean {
  if (typeof expected === 'number' && typeof actual === 'string') return Date.parse(actual) === expected;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const norm = (list: unknown[]) => list.map((v) => JSON.stringify(v)).sort().join();
    return norm(expected) === norm(actual);
  }
  return expected === actual;
}

export function answers(expected: Expected, answer: Answer): boolean {
  if (answer.type !== 'answered' || answer.status !== expected.status || answer.code !== expected.code) return false;
  return Object.entries(expected.body ?? {}).every(([field, value]) => same(value, answer.body[field]));
}

/** The fields of `event` that differ from what the rules record, or none. */
export function differences(expected: NonNullable<Verdict['event']>, event: CouponEvent): string[] {
  if (expected.type !== event.type) return [`type ${event.type}, the rules record ${expected.type}`];
  const data = event.data as Record<string, unknown>;
  const actual = event.type === 'CouponsRevoked' ? { ...data, revoked: event.data.revoked.map((r) => r.issuedCouponId) } : data;
  return Object.entries(expected.data).filter(([field, value]) => !same(value, actual[field]))
    .map(([field, value]) => `${field} ${JSON.stringify(actual[field])}, the rules say ${JSON.stringify(value)}`);
}

export const describe = (e: Expected): string => `${e.status}${e.code ? ` ${e.code}` : ''}${e.body ? ` ${JSON.stringify(e.body)}` : ''}`;

export function describeAnswer(answer: Answer): string {
  if (answer.type !== 'answered') return `${answer.type} (${answer.why})`;
  const { status, code, body } = answer;
  const detail = Object.entries(body).filter(([k]) => !['type', 'title', 'status', 'code', 'detail', 'instance'].includes(k));
  return `${status}${code ? ` ${code}` : ''}${detail.length ? ` ${JSON.stringify(Object.fromEntries(detail))}` : ''}${answer.replayed ? ' (replayed)' : ''}`;
}
