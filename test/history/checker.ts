import { parseIssuedCouponId } from '../../src/ids/ids.ts';
import { evolve, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { answers, describe, describeAnswer, differences, revokeChunk, verdict, type Verdict } from './model.ts';
import type { Kind, Operation } from './recorder.ts';

/**
 * The history checker. Each coupon's decisions are serial in Redis and the log keeps them in that order (the
 * first copy of each eventId; a copy counts once), so the order to check is the log's: each event must be a
 * decision `decide` makes at that point, at the instant Redis stamped on it, for the request whose id it
 * carries. What is left to search is where each answer that changed nothing was decided: at some point of that
 * order inside its request's interval, at some instant inside both, the rules must give that answer.
 */
export interface LoggedEvent {
  partition: number;
  offset: string;
  event: CouponEvent;
}

export interface Anomaly {
  couponId: string;
  what: string;
  op?: Operation;
  event?: CouponEvent;
  /** For an answer no point explains: what the rules answer at each point where it could have been decided. */
  points?: string[];
}

export interface CheckResult {
  anomalies: Anomaly[];
  events: number;
  copies: number;
  /** Unknown outcomes the log shows took effect. */
  resolved: number;
}

/** Redis's TIME and Date.now() here read the same clock, each truncated to the millisecond. */
const SLACK_MS = 2;
/** Decisions remembered under the request id (the Idempotency-Key): one per key however often it is sent. */
const REMEMBERED: ReadonlySet<Kind> = new Set(['create', 'issue', 'use', 'cancel', 'stock', 'window', 'close']);

interface Point {
  state: AdmissionCoupon | undefined;
  from: number;
  to: number;
  label: string;
}

interface Timeline {
  points: Point[];
  events: CouponEvent[];
  at: number[];
  /** request id → indices of the events it made */
  own: Map<string, number[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const groupOf = (op: Operation) => (op.key !== undefined && REMEMBERED.has(op.kind) ? `${op.actor.userId}\n${op.key}` : op.id);

/** The allow-list has no decision in the rules: an upload's events must be its own, in version order, of the size it sent. */
function allowListProblem(op: Operation, e: CouponEvent, state: AdmissionCoupon | undefined): string | undefined {
  const named = state?.allowListVersion ?? 0;
  if (e.type === 'CouponAllowListChunkAdded') {
    if (op.kind !== 'allow-list') return 'a chunk of an allow-list from a request that uploads none';
    const sent = new Set(op.params.userIds);
    if (e.data.userIds.some((id) => !sent.has(id))) return 'its chunk names users the upload did not send';
    return e.data.version < named ? `version ${e.data.version} after version ${named} was named` : undefined;
  }
  if (e.type !== 'CouponAllowListReplaced') return `a ${e.type} from an allow-list request`;
  const { version, size } = e.data;
  if (version === null) return op.kind === 'drop-allow-list' ? undefined : 'the allow-list dropped by a request that does not drop it';
  if (op.kind !== 'allow-list') return 'an allow-list put in force by a request that uploads none';
  if (version < named) return `version ${version} put in force after version ${named} was named`;
  const staged = state?.staged?.version === version ? state.staged.members.size : 0;
  const sent = new Set(op.params.userIds).size;
  return size === staged && size === sent ? undefined : `size ${size}: its chunks hold ${staged}, the upload sent ${sent}`;
}

/** What the rules record for this event of a revoke-unused run: its close, or a chunk revoking the holders it names. */
function revokeVerdict(op: Operation, e: CouponEvent, state: AdmissionCoupon | undefined, at: number): Verdict {
  if (e.type !== 'CouponsRevoked') return verdict({ ...op, kind: 'close' }, state, at);
  const holders = e.data.revoked.map((r) => [r.userId, parseIssuedCouponId(r.issuedCouponId)?.sequence ?? 0] as [string, number]);
  return revokeChunk(op, holders, state, at);
}

function eventProblem(op: Operation, e: CouponEvent, state: AdmissionCoupon | undefined, at: number): string | undefined {
  const a = op.answer;
  if (a.type === 'nothing') return `its request was answered "${a.why}" (nothing changed), but the log has its ${e.type}`;
  if (at < op.invokedAt - SLACK_MS || (a.type === 'answered' && at > op.completedAt + SLACK_MS)) {
    return `decided at ${iso(at)}, outside its request (sent ${iso(op.invokedAt)}, answered ${iso(op.completedAt)})`;
  }
  if (op.kind === 'allow-list' || op.kind === 'drop-allow-list') return allowListProblem(op, e, state);
  const v = op.kind === 'revoke' ? revokeVerdict(op, e, state, at) : verdict(op, state, at);
  if (!v.event) return `the rules answer ${describe(v.answer)} here and change nothing`;
  const wrong = differences(v.event, e);
  if (wrong.length > 0) return `the rules record it otherwise: ${wrong.join('; ')}`;
  if (op.kind !== 'revoke' && a.type === 'answered' && !answers(v.answer, a)) {
    return `its request was answered ${describeAnswer(a)}, but the rules answer ${describe(v.answer)} for the change it made`;
  }
  return undefined;
}

function timeline(couponId: string, events: CouponEvent[], byId: Map<string, Operation>, anomalies: Anomaly[]): Timeline {
  const points: Point[] = [{ state: undefined, from: -Infinity, to: Infinity, label: 'before its first event' }];
  const own = new Map<string, number[]>();
  const at: number[] = [];
  let state: AdmissionCoupon | undefined;
  events.forEach((e, i) => {
    const t = Date.parse(e.occurredAt);
    if (i > 0 && t < at[i - 1]!) anomalies.push({ couponId, event: e, what: `the log has it after an event Redis decided later (${events[i - 1]!.occurredAt}): the log's order is not Redis's` });
    at.push(t);
    points[i]!.to = t;
    const op = e.meta.requestId === undefined ? undefined : byId.get(e.meta.requestId);
    if (!op) anomalies.push({ couponId, event: e, what: 'an event nobody asked for: no request carries its request id' });
    else {
      own.set(op.id, [...(own.get(op.id) ?? []), i]);
      const problem = eventProblem(op, e, state, t);
      if (problem) anomalies.push({ couponId, op, event: e, what: problem });
    }
    state = evolve(structuredClone(state), e);
    points.push({ state, from: t, to: Infinity, label: `after #${i + 1} ${e.type} (${e.occurredAt})` });
  });
  return { points, events, at, own };
}

/** How many events one decision may record: remembered decisions once per key, runs of chunks once per chunk. */
function tooMany(ops: Operation[], tl: Timeline, couponId: string, anomalies: Anomaly[]): void {
  const counts = new Map<string, { op: Operation; n: number; limit: number }>();
  for (const op of ops) {
    for (const i of tl.own.get(op.id) ?? []) {
      const type = tl.events[i]!.type;
      const [scope, limit] = op.kind === 'revoke' && type === 'CouponsRevoked' ? [op.id, 2]
        : op.kind === 'allow-list' && type === 'CouponAllowListChunkAdded' ? [op.id, Math.ceil((op.params.userIds?.length ?? 0) / 1000)]
        : [groupOf(op), 1];
      const key = `${scope}\n${type}`;
      const seen = counts.get(key) ?? { op, n: 0, limit };
      seen.n++;
      counts.set(key, seen);
    }
  }
  for (const [key, { op, n, limit }] of counts) {
    if (n > limit) anomalies.push({ couponId, op, what: `one request (or one Idempotency-Key) recorded ${n} ${key.split('\n').pop()} events, at most ${limit} expected` });
  }
}

/** Instants worth trying in [lo, hi]: its ends and either side of each instant the rules compare `now` with. */
function instants(state: AdmissionCoupon | undefined, lo: number, hi: number): number[] {
  const out = new Set([lo, hi]);
  const edges = state ? [state.issueStartAt, state.issueEndAt, state.validFrom, state.validUntil] : [];
  for (const edge of edges) for (const t of [edge - 1, edge]) if (t > lo && t < hi) out.add(t);
  return [...out];
}

/** An allow-list answer: its own list in force, or superseded by an upload that overlapped it. */
function allowListExplained(op: Operation, tl: Timeline, ops: Operation[]): boolean {
  const a = op.answer;
  if (a.type !== 'answered') return true;
  const replaced = (tl.own.get(op.id) ?? []).map((i) => tl.events[i]!).find((e) => e.type === 'CouponAllowListReplaced');
  if (a.status === 204) return replaced?.type === 'CouponAllowListReplaced' && replaced.data.version === null;
  if (a.status === 200) {
    const list = a.body.allowList as { version?: number; size?: number } | undefined;
    return replaced?.type === 'CouponAllowListReplaced' && replaced.data.version === list?.version && replaced.data.size === list?.size;
  }
  if (a.code !== 'UPLOAD_SUPERSEDED') return false;
  return ops.some((o) => o !== op && (o.kind === 'allow-list' || o.kind === 'drop-allow-list') && o.invokedAt <= op.completedAt && (o.answer.type !== 'answered' || o.completedAt >= op.invokedAt));
}

/** A definite answer, explained by its own decision or by a point where the rules give it and change nothing. */
function explain(op: Operation, tl: Timeline, group: number[], ops: Operation[]): Anomaly | undefined {
  const a = op.answer;
  if (a.type !== 'answered') return undefined;
  if ((op.kind === 'allow-list' || op.kind === 'drop-allow-list') && a.status !== 404) {
    return allowListExplained(op, tl, ops) ? undefined : { couponId: op.couponId, op, what: `answered ${describeAnswer(a)}, which its events do not bear out` };
  }
  if (REMEMBERED.has(op.kind)) {
    for (const i of group) if (answers(verdict(op, tl.points[i]!.state, tl.at[i]!).answer, a)) return undefined;
  }
  // A keyed request's decision is answered again once made: an answer that changed nothing came before it.
  const last = op.key !== undefined && REMEMBERED.has(op.kind) && group.length > 0 ? group[0]! : tl.points.length - 1;
  const seen: string[] = [];
  for (let k = 0; k <= last; k++) {
    const p = tl.points[k]!;
    const lo = Math.max(p.from, op.invokedAt - SLACK_MS);
    const hi = Math.min(p.to, op.completedAt + SLACK_MS);
    if (lo > hi) continue;
    const verdicts = instants(p.state, lo, hi).map((now) => verdict(op, p.state, now));
    if (verdicts.some((v) => !v.event && answers(v.answer, a))) return undefined;
    const said = [...new Set(verdicts.map((v) => `${describe(v.answer)}${v.event ? `, recording ${v.event.type}` : ''}`))].join(' or ');
    seen.push(`${p.label}: the rules answer ${said}`);
  }
  const decided = group.length > 0 ? ` (its decision is #${group[0]! + 1} in the log)` : ' (no event of its request is in the log)';
  return { couponId: op.couponId, op, what: `answered ${describeAnswer(a)}, which no point of the log's order inside its interval explains${decided}`, points: seen };
}

function firstCopies(log: LoggedEvent[]): { byCoupon: Map<string, CouponEvent[]>; copies: number } {
  const seen = new Set<string>();
  const byCoupon = new Map<string, CouponEvent[]>();
  let copies = 0;
  for (const { event } of log) {
    if (seen.has(event.eventId)) {
      copies++;
      continue;
    }
    seen.add(event.eventId);
    byCoupon.set(event.couponId, [...(byCoupon.get(event.couponId) ?? []), event]);
  }
  return { byCoupon, copies };
}

/**
 * Which coupon each request is about. A create that went unanswered names none: it is the coupon its event
 * created, or the one a later try under the same Idempotency-Key was answered with.
 */
function couponsOf(operations: Operation[], log: LoggedEvent[]): Map<string, string> {
  const of = new Map(operations.filter((op) => op.couponId).map((op) => [op.id, op.couponId]));
  for (const { event } of log) if (event.meta.requestId && !of.has(event.meta.requestId)) of.set(event.meta.requestId, event.couponId);
  const byKey = new Map(operations.filter((op) => op.key && of.has(op.id)).map((op) => [groupOf(op), of.get(op.id)!]));
  for (const op of operations) if (!of.has(op.id) && byKey.has(groupOf(op))) of.set(op.id, byKey.get(groupOf(op))!);
  return of;
}

export function checkHistory(operations: Operation[], log: LoggedEvent[]): CheckResult {
  const anomalies: Anomaly[] = [];
  const byId = new Map(operations.map((op) => [op.id, op]));
  const { byCoupon, copies } = firstCopies(log);
  const couponOf = couponsOf(operations, log);
  const couponIds = new Set([...byCoupon.keys(), ...couponOf.values()]);
  let resolved = 0;
  for (const couponId of couponIds) {
    const events = byCoupon.get(couponId) ?? [];
    const tl = timeline(couponId, events, byId, anomalies);
    const ops = operations.filter((op) => couponOf.get(op.id) === couponId);
    tooMany(ops, tl, couponId, anomalies);
    const groups = new Map<string, number[]>();
    for (const op of ops) groups.set(groupOf(op), [...(groups.get(groupOf(op)) ?? []), ...(tl.own.get(op.id) ?? [])].sort((x, y) => x - y));
    for (const op of ops) {
      if (op.answer.type === 'unknown' && tl.own.has(op.id)) resolved++;
      if (op.answer.type === 'unknown' && op.answer.why.startsWith('500')) anomalies.push({ couponId, op, what: 'answered 500: an error, not an answer' });
      const anomaly = explain(op, tl, groups.get(groupOf(op))!, ops);
      if (anomaly) anomalies.push(anomaly);
    }
  }
  return { anomalies, events: [...byCoupon.values()].reduce((n, e) => n + e.length, 0), copies, resolved };
}
