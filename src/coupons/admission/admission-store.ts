import type { Redis } from 'ioredis';
import type { RequiredClaims } from '../../events/coupon-events.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import type {
  AddStockResult, CancelUseResult, ChangeWindowResult, CloseResult, CouponDefinition, CreateResult, EligibilityResult, EventMeta, ExpireHoldResult, HoldResult,
  IssueResult, OrderTotal, ReleaseResult, RevokeChunkResult, UseResult,
} from './admission-results.ts';
import { expireHoldScript, holdScript, releaseScript } from './hold-scripts.ts';
import { eraseScript } from './erase-script.ts';
import { allowListScript, onAllowList, type AllowListStep } from './allow-list-script.ts';
import { cancelScript } from './cancel-script.ts';
import { closeScript } from './close-script.ts';
import { readSnapshot, type CouponSnapshot } from './coupon-snapshot.ts';
import { createScript } from './create-script.ts';
import { eligibilityScript } from './eligibility-script.ts';
import { issueScript } from './issue-script.ts';
import { joinScript, readRoom, stepScript, type JoinResult } from './queue-scripts.ts';
import { revokeScript } from './revoke-script.ts';
import { ScriptRunner, type AdmissionSettings } from './script-runner.ts';
import { stockScript } from './stock-script.ts';
import { homeBucket, StockBuckets } from './stock-buckets.ts';
import { keysOfBucket } from './keys.ts';
import { useScript } from './use-script.ts';
import { windowScript } from './window-script.ts';
import type { HumanVerdict } from '../human-check/human-check.ts';
import type { ShownPass } from '../rules/coupon-rules.ts';

export type * from './admission-results.ts';
export type { AdmissionSettings } from './script-runner.ts';
export type { CouponSnapshot } from './coupon-snapshot.ts';
export type { AllowListStep } from './allow-list-script.ts';

/**
 * What the API asks of admission: one script call per decision (see each `*-script.ts`), run by the script
 * runner. The decision itself lives in the Lua (and its statement in ../rules/); this adds what a decision
 * needs around it: a coupon lost from Redis restored before it is decided again, and uses recorded before
 * cancellations read from the log before one is cancelled.
 */
export class AdmissionStore {
  private readonly runner: ScriptRunner;
  readonly buckets: StockBuckets;
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
    this.runner = new ScriptRunner(redis, settings);
    this.buckets = new StockBuckets(this.runner);
    this.restoreIfLost = restoreIfLost;
    this.readLegacyUses = readLegacyUses;
  }

  /** Runs a decision; if its coupon is unknown but was only lost from Redis, restores it and decides again. */
  private async withRestore<T extends { outcome: string }>(couponId: string, missing: string, decide: () => Promise<T>): Promise<T> {
    const first = await decide();
    return first.outcome === missing && (await this.restoreIfLost(couponId)) ? decide() : first;
  }

  /** A coupon split into buckets has its stock spread at once; one spread cut short only leaves more to move later. */
  async create(couponId: string, eventId: string, definition: CouponDefinition, meta: EventMeta, request: AdmissionRequest): Promise<CreateResult> {
    const buckets = definition.buckets ?? 1;
    const shards = buckets > 1 ? await this.buckets.place(couponId, buckets) : [];
    const recorded = shards.length > 1 ? { ...definition, bucketShards: shards } : definition;
    const created = await createScript(this.runner, couponId, eventId, recorded, meta, request, shards);
    if (created.outcome === 'CREATED' && !created.replayed) {
      this.buckets.created(couponId, shards);
      if (buckets > 1) await this.buckets.spread({ couponId, shards }, definition.totalQuantity, meta).catch(() => undefined);
    }
    return created;
  }

  /**
   * `claims`: the caller's eligibility claims as JSON (Identity.claims); `human`: their human check's verdict
   * (human-check.ts); `pass`: the waiting-room pass they showed (a coupon split into buckets has no waiting room).
   */
  async issue(couponId: string, userId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, claims = '{}', human: HumanVerdict = '', pass?: ShownPass): Promise<IssueResult> {
    // The layout is asked again after a restore: a coupon this process never saw may come back split into buckets.
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const layout = await this.buckets.layoutOf(couponId);
      if (layout && request.dryRun) return { outcome: 'DRY_RUN_NOT_OFFERED' };
      return layout ? this.buckets.issue(layout, userId, eventId, meta, request, claims, human) : issueScript(this.runner, couponId, userId, eventId, meta, request, claims, human, pass);
    });
  }

  /** The waiting room (queue-scripts.ts): a join, one step of its meter, a read of where it and a caller stand. */
  async queueJoin(couponId: string, userId: string, meta: EventMeta, human: HumanVerdict, claims: string): Promise<JoinResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', () => joinScript(this.runner, couponId, userId, meta, human, claims));
  }

  queueStep(couponId: string, mostPasses: number): ReturnType<typeof stepScript> {
    return stepScript(this.runner, couponId, mostPasses);
  }

  async queueRead(couponId: string, caller?: { userId: string; claims: string }): ReturnType<typeof readRoom> {
    const read = () => readRoom(this.runner, couponId, caller);
    const first = await read();
    return first === 'COUPON_NOT_FOUND' && (await this.restoreIfLost(couponId)) ? read() : first;
  }

  /** On a coupon split into buckets, decided in the holder's home bucket, where their holding lives. */
  async use(
    couponId: string, sequence: number, userId: string, eventId: string, orderId: string | undefined, meta: EventMeta, request: AdmissionRequest, order?: OrderTotal,
  ): Promise<UseResult> {
    const keys = async () => {
      const layout = await this.buckets.layoutOf(couponId);
      return layout ? keysOfBucket(layout, homeBucket(userId, layout.shards.length)) : this.runner.keys(couponId);
    };
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', async () => useScript(this.runner, couponId, sequence, userId, eventId, orderId, meta, request, await keys(), order));
  }

  /** A checkout's hold (hold-scripts.ts), decided in the coupon's own keys: a coupon split into buckets offers none. */
  async hold(couponId: string, hold: { sequence: number; userId: string; orderId: string; ttlMs: number }, meta: EventMeta, request: AdmissionRequest): Promise<HoldResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', async () => ((await this.buckets.layoutOf(couponId))
      ? { outcome: 'HOLDS_NOT_OFFERED' } : holdScript(this.runner, couponId, hold, meta, request)));
  }

  async release(couponId: string, release: { sequence: number; orderId: string; holdSequence?: number }, meta: EventMeta, request: AdmissionRequest): Promise<ReleaseResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', async () => ((await this.buckets.layoutOf(couponId))
      ? { outcome: 'HOLDS_NOT_OFFERED' } : releaseScript(this.runner, couponId, release, meta, request)));
  }

  async expireHold(couponId: string, sequence: number, holdSequence: number): Promise<ExpireHoldResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', () => expireHoldScript(this.runner, couponId, sequence, holdSequence));
  }

  /**
   * Undoes a use whose order was cancelled, for whoever holds the coupon. A use Redis recorded before
   * cancellations kept neither its holder nor its order: those are read from the log into Redis, then the
   * cancellation is decided against them.
   */
  async cancelUse(couponId: string, sequence: number, orderId: string | null, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<CancelUseResult> {
    return this.withRestore(couponId, 'ISSUED_COUPON_NOT_FOUND', async () => {
      const layout = await this.buckets.layoutOf(couponId);
      if (layout) return this.buckets.cancelUse(layout, sequence, orderId, eventId, meta, request);
      const once = () => cancelScript(this.runner, couponId, sequence, orderId, eventId, meta, request);
      let decided = await once();
      if (decided.outcome === 'LEGACY_USE') {
        await this.readLegacyUses(couponId);
        decided = await once();
      }
      if (decided.outcome === 'LEGACY_USE') throw new Error(`the log holds no use for ${couponId}.${sequence} that Redis recorded before cancellations`);
      return decided;
    });
  }

  /**
   * On a coupon split into buckets, every other bucket is closed first and the coupon's CouponIssuanceClosed is
   * sent after their last events: an asker refused in one bucket during the close may still be admitted in a
   * bucket the close had not reached yet; once it answers, every bucket is closed.
   */
  async close(couponId: string, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<CloseResult> {
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', async () => {
      const layout = await this.buckets.layoutOf(couponId);
      const gate = layout ? await this.buckets.closeBuckets(layout, meta) : '';
      return closeScript(this.runner, couponId, eventId, meta, request, gate);
    });
  }

  /** Raises a coupon's stock, atomically with every admission of it (of a bucketed coupon, bucket 0's). */
  async addStock(couponId: string, add: number, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<AddStockResult> {
    const added = await this.withRestore(couponId, 'COUPON_NOT_FOUND', () => stockScript(this.runner, couponId, add, eventId, meta, request));
    if (added.outcome === 'STOCK_ADDED') await this.buckets.reopen(couponId, added.totalQuantity);
    return added;
  }

  /** Moves a coupon's issue window (either end; ISO instants, normalized), atomically with every admission of it. */
  async changeWindow(couponId: string, change: { issueStartAt?: string; issueEndAt?: string }, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<ChangeWindowResult> {
    const changed = await this.withRestore(couponId, 'COUPON_NOT_FOUND', () => windowScript(this.runner, couponId, change, eventId, meta, request));
    if (changed.outcome === 'WINDOW_CHANGED') await this.carried(couponId, meta);
    return changed;
  }

  /**
   * A change of a bucketed coupon's settings carried to its other buckets. Cut short, the relay carries it before it
   * sends the change, so the answer stands: a bucket takes it when it is carried there, and its issues say by which
   * settings they were decided (README, "One hot coupon").
   */
  private async carried(couponId: string, meta: EventMeta): Promise<void> {
    await this.buckets.carrySettings(couponId, meta).catch(() => undefined);
  }

  /** The claims required of callers from now on (null: none), atomically with every admission. */
  async changeEligibility(couponId: string, requiredClaims: RequiredClaims | null, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<EligibilityResult> {
    const changed = await this.withRestore(couponId, 'COUPON_NOT_FOUND', () => eligibilityScript(this.runner, couponId, requiredClaims, eventId, meta, request));
    if (changed.outcome === 'ELIGIBILITY_CHANGED') await this.carried(couponId, meta);
    return changed;
  }

  /**
   * The stock buckets that hold the coupon's holders: [0] for a coupon not split; of a split one, those opened (one
   * not opened yet holds nobody). 503 when one was lost: its holders cannot be reached.
   */
  async heldBuckets(couponId: string): Promise<number[]> {
    const layout = await this.buckets.layoutOf(couponId);
    if (!layout) return [0];
    await this.buckets.noneLost(layout);
    const held = await Promise.all(layout.shards.map((_, b) => this.buckets.bucketHeld(layout, b)));
    return held.flatMap((h, b) => (h === 'OPEN' ? [b] : []));
  }

  /** The keys of one of the coupon's stock buckets (0: its own). */
  private async keysOf(couponId: string, bucket: number) {
    const layout = bucket === 0 ? undefined : await this.buckets.layoutOf(couponId);
    if (bucket !== 0 && !layout) throw new Error(`${couponId} is not split into stock buckets`);
    return layout ? keysOfBucket(layout, bucket) : this.runner.keys(couponId);
  }

  /** One chunk of a revoke-unused run (see ../revoke/revoke-unused-run.ts), of holders of `bucket`. */
  async revokeChunk(couponId: string, holders: readonly (readonly [string, string | number])[], meta: EventMeta, bucket = 0): Promise<RevokeChunkResult> {
    return revokeScript(this.runner, couponId, holders, meta, await this.keysOf(couponId, bucket));
  }

  /** A page of the holders of the coupon's `bucket`, [userId, sequence] (HSCAN: a full scan sees every holder there from its start to its end). */
  async holdersPage(couponId: string, cursor: string, count: number, bucket = 0): Promise<{ next: string; holders: [string, string][] }> {
    const keys = await this.keysOf(couponId, bucket);
    const [next, flat] = await this.runner.reading((redis) => redis.hscan(keys.holders, cursor, 'COUNT', count));
    const holders: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) holders.push([flat[i]!, flat[i + 1]!]);
    return { next, holders };
  }

  /** One step of an allow-list upload (see ../eligibility/allow-list-runs.ts); a coupon lost from Redis is restored before a run's first step. */
  async allowListStep(couponId: string, change: AllowListStep, meta: EventMeta): Promise<string[]> {
    const once = async () => {
      const reply = await allowListScript(this.runner, couponId, change, meta);
      // On a coupon split into stock buckets, the change goes on to the other buckets (the relay carries it if this process dies first).
      if (reply[0] === 'REPLACED' || reply[0] === 'REMOVED') await this.buckets.carryAllowList(couponId, meta).catch(() => undefined);
      return reply;
    };
    if (change.step === 'add' || change.step === 'commit') return once();
    const first = async () => {
      const reply = await once();
      return { outcome: reply[0]!, reply };
    };
    return this.withRestore(couponId, 'COUPON_NOT_FOUND', first).then((r) => r.reply);
  }

  onAllowList(couponId: string, userId: string): Promise<boolean> {
    return onAllowList(this.runner, couponId, userId);
  }

  /** A person erased: their holding of this coupon, in its holder's bucket, goes on under `placeholder` (erase.lua). */
  async erase(couponId: string, person: string, placeholder: string): Promise<boolean> {
    const layout = await this.buckets.layoutOf(couponId);
    return eraseScript(this.runner, layout ? keysOfBucket(layout, homeBucket(person, layout.shards.length)) : this.runner.keys(couponId), person, placeholder);
  }

  async snapshot(couponId: string, userId?: string): Promise<CouponSnapshot | undefined> {
    const first = await readSnapshot(this.runner, couponId, userId);
    const head = first === undefined && (await this.restoreIfLost(couponId)) ? await readSnapshot(this.runner, couponId, userId) : first;
    const layout = head && (head.definition.buckets ?? 1) > 1 ? await this.buckets.layoutOf(couponId) : undefined;
    return head && layout ? this.buckets.snapshot(head, layout, userId) : head;
  }
}
