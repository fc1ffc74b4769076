import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { couponCreatedData } from '../../events/coupon-events.ts';
import { issuedCouponId } from '../ids.ts';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';
import { couponKeys } from './keys.ts';

const prelude = readFileSync(new URL('./prelude.lua', import.meta.url), 'utf8');
const script = (name: string) => `${prelude}\n${readFileSync(new URL(`./${name}.lua`, import.meta.url), 'utf8')}`;

const SCRIPTS = {
  couponCreate: { numberOfKeys: 2, lua: script('create') },
  couponIssue: { numberOfKeys: 3, lua: script('issue') },
  couponUse: { numberOfKeys: 4, lua: script('use') },
  couponClose: { numberOfKeys: 2, lua: script('close') },
  couponRead: { numberOfKeys: 3, lua: script('read') },
} as const;

type ScriptCall = (...args: (string | number)[]) => Promise<string[]>;
type ScriptedRedis = Redis & Record<keyof typeof SCRIPTS, ScriptCall>;

export interface EventMeta {
  requestId?: string;
  actor?: string;
}

export type CouponDefinition = z.infer<typeof couponCreatedData>;

export type IssueResult =
  | { outcome: 'ISSUED'; issuedCouponId: string; issuedAt: Date; validFrom: string; validUntil: string }
  | { outcome: 'ALREADY_ISSUED'; issuedCouponId: string }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_NOT_STARTED' | 'ISSUE_ENDED' | 'SOLD_OUT' };

export type UseResult =
  | { outcome: 'USED'; usedAt: Date }
  | { outcome: 'ALREADY_USED'; usedAt: Date }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED' };

export type CloseResult = { outcome: 'CLOSED'; closedAt: Date } | { outcome: 'COUPON_CLOSED'; closedAt: Date } | { outcome: 'COUPON_NOT_FOUND' };

export interface CouponSnapshot {
  definition: CouponDefinition;
  closed: boolean;
  closedAt?: Date;
  createdAt: Date;
  issuedCount: number;
  usedCount: number;
  now: Date;
  /** The caller's issuance, when a caller was named. */
  mine?: { issuedCouponId: string; usedAt?: Date };
}

/**
 * The adapter between the HTTP handlers and the admission scripts: one EVALSHA per decision.
 * The decision itself lives in the Lua (and its mirror, decide.ts); this only shapes arguments and answers.
 */
export class AdmissionStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly shards: number,
    /** Asked when a coupon is not found: true if it was lost from Redis and has just been restored. */
    private readonly restoreIfLost: (couponId: string) => Promise<boolean> = async () => false,
  ) {
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, definition);
    }
    this.redis = redis as ScriptedRedis;
  }

  private run(script: keyof typeof SCRIPTS, ...args: (string | number)[]): Promise<string[]> {
    return this.redis[script](...args).catch(whenRedisUnavailable);
  }

  async create(couponId: string, eventId: string, definition: CouponDefinition, meta: EventMeta): Promise<{ outcome: 'CREATED'; createdAt: Date } | { outcome: 'COUPON_EXISTS' }> {
    const k = couponKeys(couponId, this.shards);
    const [outcome, at] = await this.run('couponCreate', 
      k.coupon, k.outbox, couponId, eventId, JSON.stringify(meta), JSON.stringify(definition), definition.totalQuantity,
      Date.parse(definition.issueStartAt), Date.parse(definition.issueEndAt), Date.parse(definition.validFrom),
      Date.parse(definition.validUntil), definition.validFrom, definition.validUntil,
    );
    return outcome === 'CREATED' ? { outcome, createdAt: new Date(Number(at)) } : { outcome: 'COUPON_EXISTS' };
  }

  /** Runs a decision; if its coupon is unknown but was only lost from Redis, restores it and decides again. */
  private async withRestore<T extends { outcome: string }>(couponId: string, missing: string, decide: () => Promise<T>): Promise<T> {
    const first = await decide();
    return first.outcome === missing && (await this.restoreIfLost(couponId)) ? decide() : first;
  }

  issue(couponId: string, userId: string, eventId: string, meta: EventMeta): Promise<IssueResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', () => this.issueOnce(couponId, userId, eventId, meta));
  }

  use(couponId: string, sequence: number, userId: string, eventId: string, orderId: string | undefined, meta: EventMeta): Promise<UseResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', () => this.useOnce(couponId, sequence, userId, eventId, orderId, meta));
  }

  close(couponId: string, eventId: string, meta: EventMeta): Promise<CloseResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', () => this.closeOnce(couponId, eventId, meta));
  }

  async read(couponId: string, userId?: string): Promise<CouponSnapshot | undefined> {
    const first = await this.readOnce(couponId, userId);
    return first === undefined && (await this.restoreIfLost(couponId)) ? this.readOnce(couponId, userId) : first;
  }

  private async issueOnce(couponId: string, userId: string, eventId: string, meta: EventMeta): Promise<IssueResult> {
    const k = couponKeys(couponId, this.shards);
    const [outcome, a, b, c, d] = await this.run('couponIssue', k.coupon, k.holders, k.outbox, couponId, userId, eventId, JSON.stringify(meta));
    switch (outcome) {
      case 'ISSUED':
        return { outcome, issuedCouponId: issuedCouponId(couponId, Number(a)), issuedAt: new Date(Number(b)), validFrom: c!, validUntil: d! };
      case 'ALREADY_ISSUED':
        return { outcome, issuedCouponId: issuedCouponId(couponId, Number(a)) };
      default:
        return { outcome: outcome as Exclude<IssueResult['outcome'], 'ISSUED' | 'ALREADY_ISSUED'> };
    }
  }

  private async useOnce(couponId: string, sequence: number, userId: string, eventId: string, orderId: string | undefined, meta: EventMeta): Promise<UseResult> {
    const k = couponKeys(couponId, this.shards);
    const [outcome, at] = await this.run('couponUse', k.coupon, k.holders, k.used, k.outbox, couponId, String(sequence), userId, eventId, orderId ?? '', JSON.stringify(meta));
    if (outcome === 'USED' || outcome === 'ALREADY_USED') return { outcome, usedAt: new Date(Number(at)) };
    return { outcome: outcome as Exclude<UseResult['outcome'], 'USED' | 'ALREADY_USED'> };
  }

  private async closeOnce(couponId: string, eventId: string, meta: EventMeta): Promise<CloseResult> {
    const k = couponKeys(couponId, this.shards);
    const [outcome, at] = await this.run('couponClose', k.coupon, k.outbox, couponId, eventId, JSON.stringify(meta));
    if (outcome === 'COUPON_NOT_FOUND') return { outcome };
    return { outcome: outcome as 'CLOSED' | 'COUPON_CLOSED', closedAt: new Date(Number(at)) };
  }

  private async readOnce(couponId: string, userId?: string): Promise<CouponSnapshot | undefined> {
    const k = couponKeys(couponId, this.shards);
    const row = await this.run('couponRead', k.coupon, k.holders, k.used, userId ?? '');
    if (row.length === 0) return undefined;
    const [definition, status, issued, closedAt, createdAt, now, sequence, usedAt, used] = row as [string, string, string, string, string, string, string, string, string];
    return {
      definition: JSON.parse(definition) as CouponDefinition,
      closed: status === 'CLOSED',
      closedAt: closedAt ? new Date(Number(closedAt)) : undefined,
      createdAt: new Date(Number(createdAt)),
      issuedCount: Number(issued),
      usedCount: Number(used),
      now: new Date(Number(now)),
      mine: sequence ? { issuedCouponId: issuedCouponId(couponId, Number(sequence)), usedAt: usedAt ? new Date(Number(usedAt)) : undefined } : undefined,
    };
  }
}
