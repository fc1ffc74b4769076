import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { couponCreatedData, RequiredClaims } from '../../events/coupon-events.ts';
import { classifyRedisFailure } from '../../redis/redis-client.ts';
import { DependencyUnavailable, EventLogBacklog, OutcomeUnknown } from '../../runtime/dependency-unavailable.ts';
import { issuedCouponId, uuidv7 } from '../ids.ts';
import { chunks } from '../../batching/chunks.ts';
import { metrics } from '../../metrics/metrics.ts';
import { memoTtlMs, type AdmissionRequest } from './admission-request.ts';
import { couponKeys } from './keys.ts';
import { ReplicaConfirmedCalls } from './replica-confirmed-calls.ts';
import { inUse, MAX_TOTAL_QUANTITY, type AfterCancel } from '../rules/coupon-rules.ts';

/** Holders per revoke decision: the most one CouponsRevoked event names. */
const REVOKE_CHUNK = 1_000;

const prelude = readFileSync(new URL('./prelude.lua', import.meta.url), 'utf8');
const script = (name: string) => `${prelude}\n${readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8')}`;

export const SCRIPTS = {
  couponCreate: { numberOfKeys: 3, lua: script('create') },
  couponIssue: { numberOfKeys: 7, lua: script('issue') },
  couponUse: { numberOfKeys: 6, lua: script('use') },
  couponClose: { numberOfKeys: 3, lua: script('close') },
  couponAddStock: { numberOfKeys: 3, lua: script('stock') },
  couponChangeWindow: { numberOfKeys: 3, lua: script('window') },
  couponCancelUse: { numberOfKeys: 4, lua: script('cancel') },
  couponRevoke: { numberOfKeys: 4, lua: script('revoke') },
  couponEligibility: { numberOfKeys: 3, lua: script('eligibility') },
  couponAllowList: { numberOfKeys: 4, lua: script('allow-list') },
  couponRead: { numberOfKeys: 3, lua: script('read') },
  couponAllowListMember: { numberOfKeys: 3, lua: script('allow-list-member') },
} as const;

type ScriptCall = (...args: (string | number)[]) => Promise<string[]>;
type Decision = Exclude<keyof typeof SCRIPTS, 'couponRead' | 'couponAllowListMember'>;
const DECISION_NAMES: Record<Decision, string> = { couponCreate: 'create', couponIssue: 'issue', couponUse: 'use', couponClose: 'close', couponAddStock: 'add-stock', couponChangeWindow: 'change-window', couponCancelUse: 'cancel-use', couponRevoke: 'revoke',
  couponEligibility: 'eligibility', couponAllowList: 'allow-list' };

/** The problem code a failed decision is answered with. */
function failureCode(error: unknown): string {
  if (error instanceof OutcomeUnknown) return 'OUTCOME_UNKNOWN';
  if (error instanceof EventLogBacklog) return 'EVENT_LOG_UNAVAILABLE';
  if (error instanceof DependencyUnavailable) return 'DEPENDENCY_UNAVAILABLE';
  return 'ERROR';
}
type ScriptedRedis = Redis & Record<keyof typeof SCRIPTS, ScriptCall>;

export interface EventMeta {
  requestId?: string;
  actor?: string;
}

export type CouponDefinition = z.infer<typeof couponCreatedData>;

/** Every decision may also answer that the client reused its Idempotency-Key for another request. */
type KeyReused = { outcome: 'IDEMPOTENCY_KEY_REUSED' };
/** The user's attempts on this coupon are over the limit for the window; nothing was decided. */
export type RateLimited = { outcome: 'RATE_LIMITED'; retryAfterMs: number };
/** `replayed`: the decision was made by an earlier call with the same request id and is repeated here. */
type Replayable = { replayed: boolean };

export type CreateResult = ({ outcome: 'CREATED'; createdAt: Date } & Replayable) | { outcome: 'COUPON_EXISTS' } | KeyReused;

export type IssueResult =
  | ({ outcome: 'ISSUED'; issuedCouponId: string; issuedAt: Date; validFrom: string; validUntil: string } & Replayable)
  | { outcome: 'ALREADY_ISSUED'; issuedCouponId: string }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_NOT_STARTED' | 'ISSUE_ENDED' | 'SOLD_OUT' | 'NOT_ELIGIBLE' }
  | RateLimited
  | KeyReused;

export type UseResult =
  | ({ outcome: 'USED'; usedAt: Date } & Replayable)
  | { outcome: 'ALREADY_USED'; usedAt: Date }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_REVOKED' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED' }
  | RateLimited
  | KeyReused;

export type CancelUseResult =
  | ({ outcome: 'USE_CANCELLED'; status: AfterCancel } & Replayable)
  | { outcome: 'ALREADY_CANCELLED'; status: AfterCancel }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'NOT_USED' | 'ORDER_MISMATCH' }
  | KeyReused;

export type RevokeUnusedResult = { outcome: 'REVOKED'; revokedCount: number } | { outcome: 'COUPON_NOT_FOUND' } | KeyReused;

export type AddStockResult =
  | ({ outcome: 'STOCK_ADDED'; totalQuantity: number } & Replayable)
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'STOCK_LIMIT' }
  | KeyReused;

export type ChangeWindowResult =
  | ({ outcome: 'WINDOW_CHANGED'; issueStartAt: string; issueEndAt: string } & Replayable)
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_STARTED' | 'WINDOW_INVALID' }
  | KeyReused;

export type CloseResult =
  | ({ outcome: 'CLOSED'; closedAt: Date } & Replayable)
  | { outcome: 'COUPON_CLOSED'; closedAt: Date }
  | { outcome: 'COUPON_NOT_FOUND' }
  | KeyReused;

export interface CouponSnapshot {
  definition: CouponDefinition;
  closed: boolean;
  closedAt?: Date;
  createdAt: Date;
  issuedCount: number;
  /** Coupons in use now (uses less cancelled uses). */
  usedCount: number;
  revokedCount: number;
  eligibility: EligibilityView;
  now: Date;
  /** The caller's issuance, when a caller was named: when it was used (if in use) or revoked (if revoked). */
  mine?: { issuedCouponId: string; usedAt?: Date; revokedAt?: Date };
}

/** Who may be issued a coupon, as the views show it. */
export interface EligibilityView {
  requiredClaims: RequiredClaims | null;
  allowList: { version: number; size: number } | null;
}

export type AllowListResult = { outcome: 'REPLACED'; version: number; size: number } | { outcome: 'COUPON_NOT_FOUND' | 'UPLOAD_SUPERSEDED' };

export interface AdmissionSettings {
  shards: number;
  /** How long a decision that went unanswered keeps being retried under its request id before the outcome is unknown. */
  retryMs: number;
  /** 1: a decision counts only once a replica of its node has it (`WAIT 1`); 0: once its master has it. */
  replicas?: 0 | 1;
  replicaWaitMs?: number;
  /** Pending events per outbox shard past which changes are refused (the log is not taking them). */
  outboxMaxEntries?: number;
  /** How long Redis may take to answer one command (the client's command timeout). */
  commandTimeoutMs?: number;
  /** How long a call that never reached Redis is tried again (a cluster failing over); 0 answers at once. */
  retryNotSentMs?: number;
  /** Issue and use attempts per user and coupon in a window; none when absent. */
  userLimit?: { requests: number; windowMs: number };
}

/** A script's reply, with the REPLAYED marker a remembered decision carries taken off. */
function unpack(reply: string[]): { reply: string[]; replayed: boolean } {
  return reply[0] === 'REPLAYED' ? { reply: reply.slice(1), replayed: true } : { reply, replayed: false };
}

/**
 * The adapter between the HTTP handlers and the admission scripts: one EVALSHA per decision.
 * The decision itself lives in the Lua (and its statement in ../rules/coupon-rules.ts); this only shapes arguments and answers.
 */
export class AdmissionStore {
  private readonly redis: ScriptedRedis;
  /** With ADMISSION_REPLICAS=1: decisions answered once a replica has them, grouped per slot. */
  private readonly confirmed?: ReplicaConfirmedCalls;

  private readonly settings: AdmissionSettings;
  /** Asked when a coupon is not found: true if it was lost from Redis and is there again. */
  private readonly restoreIfLost: (couponId: string) => Promise<boolean>;
  /** Asked when a cancellation meets a use Redis recorded before cancellations: rewrites it from the log. */
  private readonly readLegacyUses: (couponId: string) => Promise<void>;

  constructor(
    redis: Redis,
    settings: AdmissionSettings,
    restoreIfLost: (couponId: string) => Promise<boolean> = async () => false,
    readLegacyUses: (couponId: string) => Promise<void> = async () => {
      throw new Error('a use recorded before cancellations needs the log to be read');
    },
  ) {
    this.settings = settings;
    this.restoreIfLost = restoreIfLost;
    this.readLegacyUses = readLegacyUses;
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, definition);
    }
    this.redis = redis as ScriptedRedis;
    if (settings.replicas === 1) {
      const waitMs = settings.replicaWaitMs ?? 1_000;
      this.confirmed = new ReplicaConfirmedCalls(redis, waitMs, waitMs + (settings.commandTimeoutMs ?? 2_000));
    }
  }

  /**
   * Runs a decision. One that never reached Redis changed nothing (503 DEPENDENCY_UNAVAILABLE). One that
   * went unanswered may have been made, so it is sent again with the same request id: the script answers
   * with the remembered decision if the first call made one, or decides now if it did not. Only when no
   * answer comes within the retry time is the outcome unknown (503 OUTCOME_UNKNOWN).
   */
  private async decide(script: Decision, args: (string | number)[]): Promise<{ reply: string[]; replayed: boolean }> {
    const decision = DECISION_NAMES[script];
    const timer = metrics.admissionDuration.startTimer({ decision });
    try {
      const decided = await this.decideWithRetries(script, args);
      metrics.admissionOutcomes.inc({ decision, code: decided.reply[0] });
      return decided;
    } catch (error) {
      metrics.admissionOutcomes.inc({ decision, code: failureCode(error) });
      throw error;
    } finally {
      timer();
    }
  }

  private async decideWithRetries(script: Decision, args: (string | number)[]): Promise<{ reply: string[]; replayed: boolean }> {
    const started = Date.now();
    const deadline = started + this.settings.retryMs;
    let unanswered: unknown;
    for (let attempt = 0; ; attempt++) {
      let reply: string[];
      try {
        reply = await this.call(script, [...args, this.settings.outboxMaxEntries ?? Number.MAX_SAFE_INTEGER]);
      } catch (error) {
        const failure = classifyRedisFailure(error);
        if (failure === 'bug') throw error;
        if (failure === 'unknown') unanswered = error;
        const pause = Math.min(500, 50 * 2 ** attempt);
        if (unanswered === undefined && Date.now() + pause - started > (this.settings.retryNotSentMs ?? 0)) throw new DependencyUnavailable('redis', error, true);
        if (Date.now() + pause >= deadline) throw unanswered === undefined ? new DependencyUnavailable('redis', error, true) : new OutcomeUnknown(unanswered);
        await sleep(pause);
        continue;
      }
      if (reply[0] === 'EVENT_LOG_UNAVAILABLE') throw new EventLogBacklog();
      return unpack(reply);
    }
  }

  /**
   * One script call; with `replicas: 1`, answered only once a replica has the decision (a `WAIT 1` behind
   * it on the slot's node, shared by the decisions sent with it). A decision no replica confirmed may be lost
   * in a failover: that is an unknown outcome (a retry under the same request id answers what is still
   * there, or decides again).
   */
  private call(script: Decision, args: (string | number)[]): Promise<string[]> {
    return this.confirmed ? this.confirmed.call(script, args) : this.redis[script](...args);
  }

  /** Whether the user is on the coupon's allow-list in force (true when it has none). */
  async onAllowList(couponId: string, userId: string): Promise<boolean> {
    const k = couponKeys(couponId, this.settings.shards);
    const member: unknown = await this.read('couponAllowListMember', [k.coupon, ...k.allowLists, userId]);
    return member === 1;
  }

  private read(script: 'couponRead' | 'couponAllowListMember', args: (string | number)[]): Promise<string[]> {
    return this.reading(() => this.redis[script](...args));
  }

  /** A read changes nothing, so one Redis did not answer is simply unavailable (503, retry at will). */
  private async reading<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (classifyRedisFailure(error) === 'bug') throw error;
      throw new DependencyUnavailable('redis', error, true);
    }
  }

  private limit(): [number, number] {
    const limit = this.settings.userLimit;
    return limit ? [limit.requests, limit.windowMs] : [Number.MAX_SAFE_INTEGER, 60_000];
  }

  private memo(couponId: string, request: AdmissionRequest): string[] {
    return [couponKeys(couponId, this.settings.shards).memo(request.requestId)];
  }

  async create(couponId: string, eventId: string, definition: CouponDefinition, meta: EventMeta, request: AdmissionRequest): Promise<CreateResult> {
    const k = couponKeys(couponId, this.settings.shards);
    const { reply: [outcome, at], replayed } = await this.decide('couponCreate', [
      k.coupon, k.outbox, ...this.memo(couponId, request), couponId, eventId, JSON.stringify(meta), JSON.stringify(definition), definition.totalQuantity,
      Date.parse(definition.issueStartAt), Date.parse(definition.issueEndAt), Date.parse(definition.validFrom),
      Date.parse(definition.validUntil), definition.validFrom, definition.validUntil, request.fingerprint, memoTtlMs(request),
      definition.eligibility?.requiredClaims ? JSON.stringify(definition.eligibility.requiredClaims) : '', definition.eligibility?.allowList ? '1' : '',
    ]);
    if (outcome === 'CREATED') return { outcome, createdAt: new Date(Number(at)), replayed };
    return { outcome: outcome as 'COUPON_EXISTS' | 'IDEMPOTENCY_KEY_REUSED' };
  }

  /** Runs a decision; if its coupon is unknown but was only lost from Redis, restores it and decides again. */
  private async withRestore<T extends { outcome: string }>(couponId: string, missing: string, decide: () => Promise<T>): Promise<T> {
    const first = await decide();
    return first.outcome === missing && (await this.restoreIfLost(couponId)) ? decide() : first;
  }

  /** `claims`: the caller's eligibility claims as JSON (Identity.claims). */
  issue(couponId: string, userId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, claims = '{}'): Promise<IssueResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', () => this.issueOnce(couponId, userId, eventId, meta, request, claims));
  }

  use(couponId: string, sequence: number, userId: string, eventId: string, orderId: string | undefined, meta: EventMeta, request: AdmissionRequest): Promise<UseResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', () => this.useOnce(couponId, sequence, userId, eventId, orderId, meta, request));
  }

  close(couponId: string, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<CloseResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', () => this.closeOnce(couponId, eventId, meta, request));
  }

  async snapshot(couponId: string, userId?: string): Promise<CouponSnapshot | undefined> {
    const first = await this.snapshotOnce(couponId, userId);
    return first === undefined && (await this.restoreIfLost(couponId)) ? this.snapshotOnce(couponId, userId) : first;
  }

  private async issueOnce(couponId: string, userId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, claims: string): Promise<IssueResult> {
    const k = couponKeys(couponId, this.settings.shards);
    const { reply: [outcome, a, b, c, d], replayed } = await this.decide('couponIssue', [
      k.coupon, k.holders, k.outbox, ...this.memo(couponId, request), k.attempts('issue', userId), ...k.allowLists, couponId, userId, eventId,
      JSON.stringify(meta), request.fingerprint, memoTtlMs(request), ...this.limit(), claims,
    ]);
    switch (outcome) {
      case 'ISSUED':
        return { outcome, issuedCouponId: issuedCouponId(couponId, Number(a)), issuedAt: new Date(Number(b)), validFrom: c!, validUntil: d!, replayed };
      case 'ALREADY_ISSUED':
        return { outcome, issuedCouponId: issuedCouponId(couponId, Number(a)) };
      case 'RATE_LIMITED':
        return { outcome, retryAfterMs: Number(a) };
      default:
        return { outcome: outcome as Exclude<IssueResult['outcome'], 'ISSUED' | 'ALREADY_ISSUED' | 'RATE_LIMITED'> };
    }
  }

  private async useOnce(couponId: string, sequence: number, userId: string, eventId: string, orderId: string | undefined, meta: EventMeta, request: AdmissionRequest): Promise<UseResult> {
    const k = couponKeys(couponId, this.settings.shards);
    const { reply: [outcome, at], replayed } = await this.decide('couponUse', [
      k.coupon, k.holders, k.used, k.outbox, ...this.memo(couponId, request), k.attempts('use', userId), couponId, String(sequence), userId, eventId,
      orderId ?? '', JSON.stringify(meta), request.fingerprint, memoTtlMs(request), ...this.limit(),
    ]);
    if (outcome === 'USED') return { outcome, usedAt: new Date(Number(at)), replayed };
    if (outcome === 'ALREADY_USED') return { outcome, usedAt: new Date(Number(at)) };
    if (outcome === 'RATE_LIMITED') return { outcome, retryAfterMs: Number(at) };
    return { outcome: outcome as Exclude<UseResult['outcome'], 'USED' | 'ALREADY_USED' | 'RATE_LIMITED'> };
  }

  /**
   * Undoes a use whose order was cancelled, for whoever holds the coupon. A use Redis recorded before
   * cancellations kept neither its holder nor its order: those are read from the log into Redis, then the
   * cancellation is decided against them.
   */
  cancelUse(couponId: string, sequence: number, orderId: string | null, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<CancelUseResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', async () => {
      const k = couponKeys(couponId, this.settings.shards);
      const once = () => this.decide('couponCancelUse', [
        k.coupon, k.used, k.outbox, ...this.memo(couponId, request), couponId, String(sequence), orderId ?? '', eventId,
        JSON.stringify(meta), request.fingerprint, memoTtlMs(request),
      ]);
      let decided = await once();
      if (decided.reply[0] === 'LEGACY_USE') {
        await this.readLegacyUses(couponId);
        decided = await once();
      }
      const { reply: [outcome, status], replayed } = decided;
      if (outcome === 'USE_CANCELLED') return { outcome, status: status as AfterCancel, replayed };
      if (outcome === 'ALREADY_CANCELLED') return { outcome, status: status as AfterCancel };
      if (outcome === 'LEGACY_USE') throw new Error(`the log holds no use for ${couponId}.${sequence} that Redis recorded before cancellations`);
      return { outcome: outcome as 'ISSUED_COUPON_NOT_FOUND' | 'NOT_USED' | 'ORDER_MISMATCH' | 'IDEMPOTENCY_KEY_REUSED' };
    });
  }

  /**
   * Revokes every issued coupon of this one not in use. Issuing is closed first (under the caller's request
   * id, so a retry replays it), which fixes the set of holders; they are then read a page at a time and
   * revoked in chunks of at most 1,000, each one atomic decision and one CouponsRevoked event, so a use racing
   * the revoke either comes first (and its coupon stays USED) or finds it REVOKED. A chunk is safe to send
   * again, so a run cut short is finished by running it again; the answer is the coupon's revoked total.
   */
  async revokeUnused(couponId: string, meta: EventMeta, request: AdmissionRequest): Promise<RevokeUnusedResult> {
    const closed = await this.close(couponId, uuidv7(), meta, request);
    if (closed.outcome === 'COUPON_NOT_FOUND' || closed.outcome === 'IDEMPOTENCY_KEY_REUSED') return { outcome: closed.outcome };
    const k = couponKeys(couponId, this.settings.shards);
    // The first chunk, even an empty one, puts revoke-unused in force (and in the log) before any holder is read.
    const first = await this.revokeChunk(couponId, [], meta);
    if (first.outcome === 'COUPON_NOT_FOUND') return first;
    let revokedCount = first.revokedCount;
    let cursor = '0';
    do {
      const [next, flat] = await this.reading(() => this.redis.hscan(k.holders, cursor, 'COUNT', REVOKE_CHUNK));
      cursor = next;
      const page: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) page.push([flat[i]!, flat[i + 1]!]);
      for (const chunk of chunks(page, REVOKE_CHUNK)) {
        const decided = await this.revokeChunk(couponId, chunk, meta);
        if (decided.outcome === 'COUPON_NOT_FOUND') return decided;
        revokedCount = decided.revokedCount;
      }
    } while (cursor !== '0');
    return { outcome: 'REVOKED', revokedCount };
  }

  /** One chunk of a revoke-unused run: each named holder's coupon revoked unless in use (at most 1,000 holders). */
  async revokeChunk(couponId: string, holders: readonly (readonly [string, string | number])[], meta: EventMeta): Promise<{ outcome: 'REVOKED'; revoked: number; revokedCount: number } | { outcome: 'COUPON_NOT_FOUND' }> {
    const k = couponKeys(couponId, this.settings.shards);
    const { reply: [outcome, revoked, total] } = await this.decide('couponRevoke', [
      k.coupon, k.holders, k.used, k.outbox, couponId, uuidv7(), JSON.stringify(meta), holders.length, ...holders.flat(),
    ]);
    return outcome === 'REVOKED' ? { outcome, revoked: Number(revoked), revokedCount: Number(total) } : { outcome: 'COUPON_NOT_FOUND' };
  }

  /** The claims required of callers from now on (null: none), atomically with every admission. */
  changeEligibility(couponId: string, requiredClaims: RequiredClaims | null, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<{ outcome: 'ELIGIBILITY_CHANGED' | 'COUPON_NOT_FOUND' | 'IDEMPOTENCY_KEY_REUSED' }> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const k = couponKeys(couponId, this.settings.shards);
      const { reply: [outcome] } = await this.decide('couponEligibility', [
        k.coupon, k.outbox, ...this.memo(couponId, request), couponId, eventId, JSON.stringify(meta), requiredClaims ? JSON.stringify(requiredClaims) : '',
        request.fingerprint, memoTtlMs(request),
      ]);
      return { outcome: outcome as 'ELIGIBILITY_CHANGED' | 'COUPON_NOT_FOUND' | 'IDEMPOTENCY_KEY_REUSED' };
    });
  }

  private allowListCall(couponId: string, operation: string, eventId: string, meta: EventMeta, ...rest: (string | number)[]): Promise<{ reply: string[] }> {
    const k = couponKeys(couponId, this.settings.shards);
    return this.decide('couponAllowList', [k.coupon, ...k.allowLists, k.outbox, operation, couponId, eventId, JSON.stringify(meta), ...rest]);
  }

  /**
   * Replaces the coupon's allow-list with the ids `chunks` yields (each at most 1,000; read one at a time, so a
   * list of millions is never held), atomically at the end: until then the old list is in force, and a list
   * cut short (the source failed) never comes into force.
   */
  async replaceAllowList(couponId: string, ids: AsyncIterable<string[]>, meta: EventMeta): Promise<AllowListResult> {
    const uploadId = uuidv7();
    const { reply: [begun, version] } = await this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const { reply } = await this.allowListCall(couponId, 'begin', '', meta, uploadId);
      return { outcome: reply[0]!, reply };
    });
    if (begun !== 'BEGUN') return { outcome: 'COUPON_NOT_FOUND' };
    for await (const chunk of ids) {
      if (chunk.length === 0) continue;
      const { reply: [added] } = await this.allowListCall(couponId, 'add', uuidv7(), meta, uploadId, version!, ...chunk);
      if (added !== 'ADDED') return { outcome: added as 'COUPON_NOT_FOUND' | 'UPLOAD_SUPERSEDED' };
    }
    const { reply: [outcome, size] } = await this.allowListCall(couponId, 'commit', uuidv7(), meta, uploadId, version!);
    return outcome === 'REPLACED' ? { outcome, version: Number(version), size: Number(size) } : { outcome: outcome as 'COUPON_NOT_FOUND' | 'UPLOAD_SUPERSEDED' };
  }

  /** No allow-list from now on: anyone may be issued the coupon (required claims still apply). */
  removeAllowList(couponId: string, meta: EventMeta): Promise<{ outcome: 'REMOVED' | 'COUPON_NOT_FOUND' }> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const { reply: [outcome] } = await this.allowListCall(couponId, 'remove', uuidv7(), meta);
      return { outcome: outcome as 'REMOVED' | 'COUPON_NOT_FOUND' };
    });
  }

  private async closeOnce(couponId: string, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<CloseResult> {
    const k = couponKeys(couponId, this.settings.shards);
    const { reply: [outcome, at], replayed } = await this.decide('couponClose', [
      k.coupon, k.outbox, ...this.memo(couponId, request), couponId, eventId, JSON.stringify(meta), request.fingerprint, memoTtlMs(request),
    ]);
    if (outcome === 'CLOSED') return { outcome, closedAt: new Date(Number(at)), replayed };
    if (outcome === 'COUPON_CLOSED') return { outcome, closedAt: new Date(Number(at)) };
    return { outcome: outcome as 'COUPON_NOT_FOUND' | 'IDEMPOTENCY_KEY_REUSED' };
  }

  /** Raises a coupon's stock, atomically with every admission of it. */
  addStock(couponId: string, add: number, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<AddStockResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const k = couponKeys(couponId, this.settings.shards);
      const { reply: [outcome, total], replayed } = await this.decide('couponAddStock', [
        k.coupon, k.outbox, ...this.memo(couponId, request), couponId, eventId, JSON.stringify(meta), add, MAX_TOTAL_QUANTITY, request.fingerprint,
        memoTtlMs(request),
      ]);
      if (outcome === 'STOCK_ADDED') return { outcome, totalQuantity: Number(total), replayed };
      return { outcome: outcome as 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'STOCK_LIMIT' | 'IDEMPOTENCY_KEY_REUSED' };
    });
  }

  /** Moves a coupon's issue window (either end; ISO instants, normalized), atomically with every admission of it. */
  changeWindow(couponId: string, change: { issueStartAt?: string; issueEndAt?: string }, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<ChangeWindowResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const k = couponKeys(couponId, this.settings.shards);
      const ms = (iso?: string) => (iso === undefined ? '' : Date.parse(iso));
      const { reply: [outcome, start, end], replayed } = await this.decide('couponChangeWindow', [
        k.coupon, k.outbox, ...this.memo(couponId, request), couponId, eventId, JSON.stringify(meta), ms(change.issueStartAt), ms(change.issueEndAt),
        change.issueStartAt ?? '', change.issueEndAt ?? '', request.fingerprint, memoTtlMs(request),
      ]);
      if (outcome === 'WINDOW_CHANGED') return { outcome, issueStartAt: start!, issueEndAt: end!, replayed };
      return { outcome: outcome as 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_STARTED' | 'WINDOW_INVALID' | 'IDEMPOTENCY_KEY_REUSED' };
    });
  }

  private async snapshotOnce(couponId: string, userId?: string): Promise<CouponSnapshot | undefined> {
    const k = couponKeys(couponId, this.settings.shards);
    const row = await this.read('couponRead', [k.coupon, k.holders, k.used, userId ?? '']);
    if (row.length === 0) return undefined;
    const [definition, status, issued, closedAt, createdAt, now, sequence, state, at, used, cancelled, revoked, claims, listVersion, listSize] = row as [
      string, string, string, string, string, string, string, string, string, string, string, string, string, string, string,
    ];
    return {
      definition: JSON.parse(definition) as CouponDefinition,
      closed: status === 'CLOSED',
      closedAt: closedAt ? new Date(Number(closedAt)) : undefined,
      createdAt: new Date(Number(createdAt)),
      issuedCount: Number(issued),
      usedCount: inUse({ usedCount: Number(used), cancelledCount: Number(cancelled) }),
      revokedCount: Number(revoked),
      eligibility: {
        requiredClaims: claims ? (JSON.parse(claims) as RequiredClaims) : null,
        allowList: listVersion ? { version: Number(listVersion), size: Number(listSize) } : null,
      },
      now: new Date(Number(now)),
      mine: sequence ? {
        issuedCouponId: issuedCouponId(couponId, Number(sequence)),
        ...(state === 'U' ? { usedAt: new Date(Number(at)) } : state === 'R' ? { revokedAt: new Date(Number(at)) } : {}),
      } : undefined,
    };
  }
}
