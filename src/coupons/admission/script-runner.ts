import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { classifyRedisFailure } from '../../redis/redis-client.ts';
import { DependencyUnavailable, EventLogBacklog, OutcomeUnknown } from '../../dependencies/dependency-unavailable.ts';
import { metrics } from '../../metrics/metrics.ts';
import { memoTtlMs, type AdmissionRequest } from '../../idempotency/admission-request.ts';
import { couponKeys, type CouponKeys } from './keys.ts';
import { ReplicaConfirmedCalls } from './replica-confirmed-calls.ts';

const prelude = readFileSync(new URL('./prelude.lua', import.meta.url), 'utf8');
const script = (name: string) => `${prelude}\n${readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8')}`;

/** Every admission script, by the command name ioredis gives it. */
export const SCRIPTS = {
  couponCreate: { numberOfKeys: 3, lua: script('create') },
  couponIssue: { numberOfKeys: 9, lua: script('issue') },
  couponUse: { numberOfKeys: 7, lua: script('use') },
  couponHold: { numberOfKeys: 7, lua: script('hold') },
  couponRelease: { numberOfKeys: 5, lua: script('release') },
  couponExpireHold: { numberOfKeys: 4, lua: script('expire-hold') },
  couponClose: { numberOfKeys: 3, lua: script('close') },
  couponAddStock: { numberOfKeys: 3, lua: script('stock') },
  couponChangeWindow: { numberOfKeys: 3, lua: script('window') },
  couponCancelUse: { numberOfKeys: 4, lua: script('cancel') },
  couponRevoke: { numberOfKeys: 4, lua: script('revoke') },
  couponEligibility: { numberOfKeys: 3, lua: script('eligibility') },
  couponAllowList: { numberOfKeys: 4, lua: script('allow-list') },
  couponRead: { numberOfKeys: 3, lua: script('read') },
  couponAllowListMember: { numberOfKeys: 3, lua: script('allow-list-member') },
  bucketIssue: { numberOfKeys: 7, lua: script('bucket-issue') },
  bucketGive: { numberOfKeys: 2, lua: script('bucket-give') },
  bucketReceive: { numberOfKeys: 2, lua: script('bucket-receive') },
  bucketClose: { numberOfKeys: 2, lua: script('bucket-close') },
  bucketRead: { numberOfKeys: 3, lua: script('bucket-read') },
  bucketReopen: { numberOfKeys: 1, lua: script('bucket-reopen') },
  bucketSoldOut: { numberOfKeys: 1, lua: script('bucket-sold-out') },
  bucketSettings: { numberOfKeys: 2, lua: script('bucket-settings') },
  bucketAllowList: { numberOfKeys: 5, lua: script('bucket-allow-list') },
  queueJoin: { numberOfKeys: 8, lua: script('queue-join') },
  queueShuffle: { numberOfKeys: 5, lua: script('queue-shuffle') },
  queueGrant: { numberOfKeys: 6, lua: script('queue-grant') },
  queueRead: { numberOfKeys: 7, lua: script('queue-read') },
};

type ScriptCall = (...args: (string | number)[]) => Promise<string[]>;
type ScriptedRedis = Redis & Record<keyof typeof SCRIPTS, ScriptCall>;
type ReadScript = 'couponRead' | 'couponAllowListMember' | 'bucketRead' | 'queueRead';
type Args = (string | number)[];
export type DecisionScript = Exclude<keyof typeof SCRIPTS, ReadScript>;
const DECISION_NAMES: Record<DecisionScript, string> = {
  couponCreate: 'create', couponIssue: 'issue', couponUse: 'use', couponClose: 'close', couponAddStock: 'add-stock', couponChangeWindow: 'change-window',
  couponHold: 'hold', couponRelease: 'release', couponExpireHold: 'expire-hold', couponCancelUse: 'cancel-use', couponRevoke: 'revoke', couponEligibility: 'eligibility', couponAllowList: 'allow-list',
  bucketIssue: 'issue', bucketGive: 'bucket-give', bucketReceive: 'bucket-receive', bucketClose: 'close', bucketReopen: 'add-stock',
  bucketSoldOut: 'bucket-sold-out', bucketSettings: 'bucket-settings', bucketAllowList: 'bucket-allow-list',
  queueJoin: 'queue-join', queueShuffle: 'queue-shuffle', queueGrant: 'queue-grant',
};

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

/** A decision's reply, with the REPLAYED marker a remembered decision carries taken off. */
export type Decided = { reply: string[]; replayed: boolean };

/** The problem code a failed decision is answered with. */
function failureCode(error: unknown): string {
  if (error instanceof OutcomeUnknown) return 'OUTCOME_UNKNOWN';
  if (error instanceof EventLogBacklog) return 'EVENT_LOG_UNAVAILABLE';
  if (error instanceof DependencyUnavailable) return 'DEPENDENCY_UNAVAILABLE';
  return 'ERROR';
}

/**
 * Runs the admission scripts: registers them, retries a decision that went unanswered under its request id,
 * tells a failure that changed nothing from one that may have, and counts outcomes and durations. What the
 * arguments and replies of each script mean is its adapter's (the `*-script.ts` beside each `.lua`).
 */
export class ScriptRunner {
  readonly settings: AdmissionSettings;
  private readonly redis: ScriptedRedis;
  /** With ADMISSION_REPLICAS=1: decisions answered once a replica has them, grouped per slot. */
  private readonly confirmed?: ReplicaConfirmedCalls;

  constructor(redis: Redis, settings: AdmissionSettings) {
    this.settings = settings;
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, definition);
    }
    this.redis = redis as ScriptedRedis;
    if (settings.replicas === 1) {
      const waitMs = settings.replicaWaitMs ?? 1_000;
      this.confirmed = new ReplicaConfirmedCalls(redis, waitMs, waitMs + (settings.commandTimeoutMs ?? 2_000));
    }
  }

  keys(couponId: string): CouponKeys {
    return couponKeys(couponId, this.settings.shards);
  }

  /** The arguments every remembered decision ends its keys with (the memo key, in the slot of the keys decided on) and names (fingerprint, how long). */
  memo(couponId: string, request: AdmissionRequest, keys = this.keys(couponId)): { key: string; fingerprint: string; ttlMs: number } {
    return { key: keys.memo(request.requestId), fingerprint: request.fingerprint, ttlMs: memoTtlMs(request) };
  }

  /** The per-user attempt limit as the scripts take it: requests, window. */
  limit(): [number, number] {
    const limit = this.settings.userLimit;
    return limit ? [limit.requests, limit.windowMs] : [Number.MAX_SAFE_INTEGER, 60_000];
  }

  /**
   * Runs a decision. One that never reached Redis changed nothing (503 DEPENDENCY_UNAVAILABLE). One that
   * went unanswered may have been made, so it is sent again with the same request id: the script answers
   * with the remembered decision if the first call made one, or decides now if it did not. Only when no
   * answer comes within the retry time is the outcome unknown (503 OUTCOME_UNKNOWN). `args` as a function: a
   * decision with no memo whose every attempt is a new one (a waiting room's step), made with fresh arguments
   * (fresh event ids) each time, so a first attempt that ran and a retry never write two events under one id.
   */
  async decide(script: DecisionScript, args: Args | (() => Args)): Promise<Decided> {
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

  private async decideWithRetries(script: DecisionScript, args: Args | (() => Args)): Promise<Decided> {
    const started = Date.now();
    const deadline = started + this.settings.retryMs;
    let unanswered: unknown;
    for (let attempt = 0; ; attempt++) {
      let reply: string[];
      try {
        reply = await this.call(script, [...(typeof args === 'function' ? args() : args), this.settings.outboxMaxEntries ?? Number.MAX_SAFE_INTEGER]);
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
      return reply[0] === 'REPLAYED' ? { reply: reply.slice(1), replayed: true } : { reply, replayed: false };
    }
  }

  /**
   * One script call; with `replicas: 1`, answered only once a replica has the decision (a `WAIT 1` behind
   * it on the slot's node, shared by the decisions sent with it). A decision no replica confirmed may be lost
   * in a failover: that is an unknown outcome (a retry under the same request id answers what is still
   * there, or decides again).
   */
  private call(script: DecisionScript, args: (string | number)[]): Promise<string[]> {
    return this.confirmed ? this.confirmed.call(script, args) : this.redis[script](...args);
  }

  /** A read-only script. */
  read(script: ReadScript, args: (string | number)[]): Promise<string[]> {
    return this.reading(() => this.redis[script](...args));
  }

  /**
   * A read an answer stands on (a bucketed coupon's SOLD_OUT): with `replicas: 1` it counts only once a replica holds
   * everything it read, as a decision does, so a failover cannot take back what it saw. It changed nothing either way.
   */
  readConfirmed(script: ReadScript, args: (string | number)[]): Promise<string[]> {
    return this.reading(() => (this.confirmed ? this.confirmed.call(script, args) : this.redis[script](...args)));
  }

  /**
   * A read a decision waits on (a coupon's bucket layout, before its first decision in this process): asked again,
   * as a decision is, while Redis does not answer within the retry time; then unavailable (it changed nothing).
   */
  async readRetried<T>(call: (redis: Redis) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.settings.retryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(this.redis);
      } catch (error) {
        if (classifyRedisFailure(error) === 'bug') throw error;
        const pause = Math.min(500, 50 * 2 ** attempt);
        if (Date.now() + pause >= deadline) throw new DependencyUnavailable('redis', error, true);
        await sleep(pause);
      }
    }
  }

  /** A read changes nothing, so one Redis did not answer is simply unavailable (503, retry at will). */
  async reading<T>(call: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      return await call(this.redis);
    } catch (error) {
      if (classifyRedisFailure(error) === 'bug') throw error;
      throw new DependencyUnavailable('redis', error, true);
    }
  }
}
