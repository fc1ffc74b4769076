import { readFileSync } from 'node:fs';
import { parseCouponEvent, type CouponEvent } from '../../events/coupon-events.ts';
import { partitionFor } from '../../kafka/kafka-client.ts';
import type { LogAndStores } from '../../runtime/runtime.ts';
import type { Dependency } from '../../dependencies/dependency-unavailable.ts';
import { DependencyUnavailable } from '../../dependencies/dependency-unavailable.ts';
import { outboxEvents } from '../../outbox/outbox.ts';
import { CouponCodes } from '../codes/coupon-codes.ts';
import { couponKeys, type CouponKeys } from '../admission/keys.ts';
import { holdValue, isLegacyRedemption, redemptionValue } from '../admission/redemption-value.ts';
import { moneyField } from '../rules/money.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { CouponHistory } from '../history/coupon-history.ts';
import { withReadModelSnapshot } from './read-model-snapshot.ts';
import { assertRestoreFollowsLog } from './read-models-follow-log.ts';
import { LogMismatchError } from '../../projector/followed-log.ts';
import { foldInto, type RebuiltBuckets, type RebuiltCoupon } from './rebuilt-coupon.ts';
import { installBuckets, pendingGates, restoredBuckets } from './restored-buckets.ts';
import { stage } from './staged-keys.ts';
import { queueFields, stageQueue } from './restored-queue.ts';
import { settingRevision, type AdmissionCoupon } from '../rules/coupon-rules.ts';

const INSTALL = readFileSync(new URL('../admission/install-restored.lua', import.meta.url), 'utf8');
const LEGACY_USES = readFileSync(new URL('../admission/legacy-uses.lua', import.meta.url), 'utf8');
/**
 * Which store a restore's failure came from, by the client that raised it (kafkajs, mysql2; else Redis); read
 * models of another log are the log's to fix (a rebuild).
 */
function dependencyOf(error: unknown): Dependency {
  const { name = '', sqlState } = (error ?? {}) as { name?: string; sqlState?: string };
  if (name.startsWith('Kafka') || error instanceof LogMismatchError) return 'kafka';
  return sqlState !== undefined ? 'mysql' : 'redis';
}

/** Present while Redis holds admission state; gone after a FLUSHALL or a fresh Redis. */
export const ADMISSION_MARKER = 'admission:state';

/**
 * Rebuilds Redis admission state from the log (and whatever outbox survived), so a lost Redis never
 * reopens sold-out stock or lets a user get a second coupon. Coupons Redis still holds are left alone.
 */
/** A coupon split into stock buckets rebuilt without them (begun from the read models, which keep none). */
const bucketsUnread = (r: RebuiltCoupon): boolean => !r.stock && ((JSON.parse(r.definition) as { buckets?: number }).buckets ?? 1) > 1;

export class AdmissionRecovery {
  private readonly inFlight = new Map<string, Promise<boolean>>();
  /** Bucketed coupons a restore could not put back (lost in part, or placed before placements were logged): 503, never "no such coupon". */
  private readonly notRestorable = new Set<string>();
  /** Log events read by restores so far: what a restore cost. */
  eventsRead = 0;

  private readonly deps: LogAndStores;

  constructor(deps: LogAndStores) {
    this.deps = deps;
  }

  /** At start-up: if Redis lost everything, restore everything before the API admits. */
  async ensureRestored(): Promise<number> {
    if (await this.deps.redis.exists(ADMISSION_MARKER)) return 0;
    const restored = await this.restore();
    await this.deps.redis.set(ADMISSION_MARKER, new Date().toISOString());
    return restored.length;
  }

  /**
   * On a miss: a coupon the read model knows but Redis does not was lost, so restore it. True when Redis holds
   * the coupon afterwards, whoever put it back (another process's restore may have come first), so the caller
   * decides again instead of answering that it does not exist.
   */
  recoverIfLost(couponId: string): Promise<boolean> {
    let running = this.inFlight.get(couponId);
    if (!running) {
      const inRedis = () => this.held(couponId);
      running = (async () => {
        if (await inRedis()) return true;
        const known = await this.deps.db.selectFrom('coupon').select('id').where('id', '=', couponId).executeTakeFirst();
        if (!known) return false;
        await this.restore([couponId]);
        if (this.notRestorable.has(couponId) && !(await inRedis())) throw new DependencyUnavailable('redis', new Error(`${couponId} is split into stock buckets that could not be restored from the log`), true);
        return inRedis();
      })().catch((error: unknown) => {
        // The request's own decision found no coupon, so it changed nothing: a restore that could not read the
        // log, the read models or Redis (a broker restarting) is a 503 to retry, not an error of ours.
        if (error instanceof DependencyUnavailable) throw error;
        this.deps.logger.warn({ err: error, couponId }, 'could not restore a lost coupon; answering 503');
        throw new DependencyUnavailable(dependencyOf(error), error, true);
      }).finally(() => this.inFlight.delete(couponId));
      this.inFlight.set(couponId, running);
    }
    return running;
  }

  /**
   * Restores the given coupons (every coupon when none are named); returns the ones written.
   *
   * The relay moves entries from the outbox to the log while this runs. The outbox is read before the log's
   * end is fixed: an entry moved after that read reached Kafka before the end was fixed, so the log read
   * has it, and one not moved yet is in that outbox read. The outbox is read again after the log, for what
   * was admitted meanwhile. Folding is idempotent (a holder, a use, a close counts once), so an event both
   * read from the log and from the outbox changes nothing the second time.
   *
   * Named coupons are read through the history index: only their own events. A full restore goes partition
   * by partition, so memory holds one partition's coupons: it starts from the read models at their
   * checkpoint (a consistent snapshot whose counts are checked against its rows) and replays only the log
   * after it; a partition whose snapshot does not check out, or `fromSnapshot: false`, is replayed from 0.
   */
  async restore(only?: string[], options: { fromSnapshot?: boolean } = {}): Promise<string[]> {
    // A log that does not exist yet (a fresh deployment) holds nothing to restore.
    if (!(await this.deps.kafka.topicExists(this.deps.topic))) return [];
    await assertRestoreFollowsLog(this.deps);
    const written = only ? await this.restoreCoupons(only) : await this.restoreAll(options.fromSnapshot ?? true);
    if (written.length > 0) this.deps.logger.warn({ coupons: written.length }, 'restored admission state from the log');
    return written;
  }

  /**
   * Redis from before cancellations kept a use as a bare instant, with neither holder nor order, and one from
   * before revocations kept their orders revoked a cancelled use without its order: a cancellation naming the
   * order would not match them. The log has both: each such redemption is rewritten from the coupon's own
   * events (and the outbox), so what Redis decides next agrees with the log.
   */
  async readLegacyUses(couponId: string): Promise<void> {
    const k = couponKeys(couponId, this.deps.shards);
    const bare = Object.entries(await this.deps.redis.hgetall(k.used)).filter(([, value]) => isLegacyRedemption(value));
    if (bare.length === 0) return;
    await assertRestoreFollowsLog(this.deps);
    const coupon = (await this.rebuild([couponId])).get(couponId);
    const rewrites = bare.flatMap(([sequence, value]) => {
      const r = coupon?.state.redemptions.get(Number(sequence));
      return r ? [sequence, value, redemptionValue(r)] : [];
    });
    if (rewrites.length < bare.length * 3) this.deps.logger.error({ couponId }, 'Redis holds uses the log does not: run the audit');
    if (rewrites.length > 0) await this.deps.redis.eval(LEGACY_USES, 1, k.used, ...rewrites);
  }

  /** Whether Redis holds the coupon: its status, which every coupon has; a key holding only a late mark is not one. */
  private async held(couponId: string): Promise<boolean> {
    return (await this.deps.redis.hexists(couponKeys(couponId, this.deps.shards).coupon, 'st')) === 1;
  }

  private async restoreCoupons(only: string[]): Promise<string[]> {
    // A coupon still there is not rebuilt: read now and lost before the install, it would go back older than it was.
    const lost = [];
    for (const couponId of only) if (!(await this.held(couponId))) lost.push(couponId);
    return lost.length > 0 ? this.install(await this.rebuild(lost)) : [];
  }

  /**
   * A restore's first half: the named coupons folded from their own events in the log, and whatever the outbox
   * still holds of them. `install` puts them in place.
   */
  async rebuild(only: string[]): Promise<Map<string, RebuiltCoupon>> {
    const wanted = new Set(only);
    const pendingBefore = (await outboxEvents(this.deps.redis, this.deps.shards)).filter((e) => wanted.has(e.couponId));
    const rebuilt = new Map<string, RebuiltCoupon>();
    const history = new CouponHistory(this.deps);
    for (const couponId of wanted) {
      for await (const { event } of history.steps(couponId, 0n)) {
        this.eventsRead++;
        if (event) foldInto(rebuilt, event);
      }
    }
    const pendingAfter = (await outboxEvents(this.deps.redis, this.deps.shards)).filter((e) => wanted.has(e.couponId));
    for (const event of [...pendingBefore, ...pendingAfter]) foldInto(rebuilt, event);
    return rebuilt;
  }

  private async restoreAll(fromSnapshot: boolean): Promise<string[]> {
    const { db, kafka, topic, partitions } = this.deps;
    const ofPartition = (partition: number) => (e: CouponEvent) => partitionFor(e.couponId, partitions) === partition;
    const pendingBefore = await outboxEvents(this.deps.redis, this.deps.shards);
    const until = await kafka.endOffsets(topic);
    const written: string[] = [];
    await withReadModelSnapshot(db, topic, async (snapshot) => {
      const couponIds = fromSnapshot ? await snapshot.couponsByPartition(partitions) : new Map<number, string[]>();
      for (const partition of until.keys()) {
        const rebuilt = new Map<string, RebuiltCoupon>();
        let from = 0n;
        const checkpoint = fromSnapshot ? await snapshot.checkpoint(partition) : undefined;
        if (checkpoint !== undefined) {
          for (const couponId of couponIds.get(partition) ?? []) {
            const coupon = await snapshot.coupon(couponId);
            if (!coupon) {
              this.deps.logger.warn({ partition, couponId }, 'read model does not check out for this coupon; replaying its partition from the start');
              rebuilt.clear();
              break;
            }
            rebuilt.set(couponId, coupon);
          }
          if (rebuilt.size === (couponIds.get(partition)?.length ?? 0)) from = checkpoint;
        }
        await kafka.scan(topic, (batch) => {
          this.eventsRead += batch.messages.length;
          for (const message of batch.messages) {
            try {
              foldInto(rebuilt, parseCouponEvent(JSON.parse(message.value ?? 'null')));
            } catch {
              // Unreadable events are the audit's and the dead-letter table's to report; they never admitted anything.
            }
          }
        }, { from: new Map([[partition, from]]), until, partitions: [partition] });
        const pendingAfter = await outboxEvents(this.deps.redis, this.deps.shards);
        for (const event of [...pendingBefore, ...pendingAfter].filter(ofPartition(partition))) foldInto(rebuilt, event);
        // Most coupons of a partition are usually still there: they are not copied just to be dropped.
        for (const couponId of rebuilt.keys()) if (await this.held(couponId)) rebuilt.delete(couponId);
        // The read models keep no stock buckets: a bucketed coupon begun from them is folded again from its own events.
        const unsplit = [...rebuilt].filter(([, r]) => bucketsUnread(r)).map(([id]) => id);
        if (unsplit.length > 0) for (const [couponId, r] of await this.rebuild(unsplit)) rebuilt.set(couponId, r);
        written.push(...(await this.install(rebuilt)));
      }
    });
    return written;
  }

  /** A restore's second half: each rebuilt coupon Redis still lacks is put in place; returns the ones written. */
  async install(rebuilt: Map<string, RebuiltCoupon>): Promise<string[]> {
    const written: string[] = [];
    for (const [couponId, r] of rebuilt) if (await this.write(couponId, r)) written.push(couponId);
    return written;
  }

  /**
   * Holders, uses and the allow-list go to keys of this restore's own (admissions never see them), then one
   * script puts them and the coupon hash in place only if Redis still lacks the coupon: a restore that lost the
   * race to another, or to a live coupon, changes nothing.
   */
  private async write(couponId: string, r: RebuiltCoupon): Promise<boolean> {
    if (bucketsUnread(r)) {
      // Written as a coupon not split, its buckets' sequences would be issued again: 503 until it can be read whole.
      this.notRestorable.add(couponId);
      this.deps.logger.error({ couponId }, 'a bucketed coupon whose buckets the restore could not read is not restored; it answers 503');
      return false;
    }
    const k = couponKeys(couponId, this.deps.shards);
    const { state } = r;
    const fields: Record<string, string | number> = {
      st: state.status, tot: state.totalQuantity, iss: state.issued, usd: state.usedCount, cnc: state.cancelledCount, rvk: state.revokedCount, is: state.issueStartAt, ie: state.issueEndAt,
      vf: state.validFrom, vu: state.validUntil, vfs: r.validFrom, vus: r.validUntil, def: r.definition, ca: r.createdAt,
      ...(r.closedAt !== undefined ? { cl: r.closedAt } : {}),
      ...(state.requiredClaims ? { elc: JSON.stringify(state.requiredClaims) } : {}),
      ...(state.unusedRevoked ? { rvu: 1 } : {}),
      ...(state.onePer !== undefined ? { opc: state.onePer } : {}),
      ...(state.humanCheck ? { hc: 1 } : {}),
      ...(state.heldCount ? { hld: state.heldCount } : {}),
      ...(state.money ? { mny: moneyField(state.money), bsp: state.budget?.spentMinor ?? 0, bgr: state.budget?.revision ?? 0 } : {}),
      ...(state.queue ? queueFields(state.queue) : {}),
      ...(state.allowList ? { ala: 'a', alav: state.allowList.version, als: state.allowList.members.size } : {}),
      alv: state.allowListVersion,
      rev: settingRevision(state),
    };
    const restored = r.stock ? await this.writeBuckets(couponId, r, r.stock, fields) : await this.writeOne(k, r.state, fields);
    // The code index lived in the same Redis: what the log says a code names, it names again.
    const { code } = JSON.parse(r.definition) as { code?: string };
    if (restored && code) await new CouponCodes(this.deps.redis).reserve(code, couponId);
    return restored;
  }

  private async writeOne(k: CouponKeys, state: AdmissionCoupon, fields: Record<string, string | number>): Promise<boolean> {
    const restoreId = uuidv7();
    const [holders, used, allowList, persons, holds] = k.staged(restoreId);
    await stage(this.deps.redis, holders, { entries: [...state.holders] });
    await stage(this.deps.redis, used, { entries: [...state.redemptions].map(([sequence, r]) => [sequence, redemptionValue(r)] as const) });
    // The list in force goes back into set `a`; one that was being uploaded is not restored (its upload must run again).
    await stage(this.deps.redis, allowList, { members: [...(state.allowList?.members ?? [])] });
    await stage(this.deps.redis, persons, { entries: [...(state.persons ?? [])] });
    await stage(this.deps.redis, holds, { entries: [...(state.holds ?? [])].map(([sequence, h]) => [sequence, holdValue(h)] as const) });
    const room = state.queue ? await stageQueue(this.deps.redis, k, restoreId, state.queue) : [];
    const pairs = [[k.holders, holders], [k.used, used], [k.allowLists[0], allowList], [k.persons, persons], [k.holds, holds], ...room].flat();
    return (await this.deps.redis.eval(INSTALL, 2 + pairs.length, k.coupon, k.allowLists[1], ...pairs, ...Object.entries(fields).flat())) === 1;
  }

  /**
   * A coupon split into stock buckets, lost with every bucket it had opened: each put back where it lived (the
   * placement its CouponCreated recorded). One still there means a partial loss, which the log alone cannot mend
   * (what that bucket admitted since is not in it yet): the coupon answers 503 until Redis holds it again.
   */
  private async writeBuckets(couponId: string, r: RebuiltCoupon, stock: RebuiltBuckets, head: Record<string, string | number>): Promise<boolean> {
    const { bucketShards } = JSON.parse(r.definition) as { bucketShards?: number[] };
    const installed = bucketShards
      ? await installBuckets(this.deps.redis, couponId, bucketShards, restoredBuckets(r, stock, bucketShards, head, await pendingGates(this.deps.redis, couponId, this.deps.shards)))
      : 'UNPLACED';
    if (installed === 'INSTALLED') return true;
    this.notRestorable.add(couponId);
    this.deps.logger.error({ couponId, installed }, installed === 'UNPLACED'
      ? 'a coupon split into stock buckets before their placement was logged is not restored; it answers 503 until Redis holds it again'
      : 'a bucketed coupon lost only in part is not restored from the log; it answers 503 until Redis holds it again');
    return false;
  }
}
