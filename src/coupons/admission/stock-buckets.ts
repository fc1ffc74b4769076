import { crc32 } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailable, EventLogBacklog } from '../../dependencies/dependency-unavailable.ts';
import type { EventOf } from '../../events/coupon-events.ts';
import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import { issuedCouponId, shardOf, uuidv7 } from '../../ids/ids.ts';
import { BoundedCache } from '../../memory/bounded-cache.ts';
import { shardTag } from '../../outbox/outbox.ts';
import { keySlot } from '../../redis/key-slot.ts';
import { slotMasters } from '../../redis/redis-client.ts';
import { inUse } from '../rules/coupon-rules.ts';
import type { CancelUseResult, EventMeta, IssueResult } from './admission-results.ts';
import { bucketCloseScript, bucketGiveScript, bucketIssueScript, bucketReadScript, bucketReceiveScript, bucketSettingsScript, type Transfer } from './bucket-scripts.ts';
import { placeBuckets } from './bucket-placement.ts';
import { carryAllowList } from './allow-list-carry.ts';
import { cancelScript } from './cancel-script.ts';
import type { CouponSnapshot } from './coupon-snapshot.ts';
import { keysOfBucket, layoutFrom, type BucketLayout } from './keys.ts';
import type { ScriptRunner } from './script-runner.ts';
import type { HumanVerdict } from '../human-check/human-check.ts';

/** The asker's home bucket: where their holding lives, so "one per person" stays one atomic call. */
export const homeBucket = (userId: string, buckets: number): number => crc32(userId) % buckets;

/** A coupon not split into buckets (or one Redis does not hold). */
const SINGLE = { shards: [] as number[] };

/**
 * A coupon's stock split over K buckets, each in its own Redis slot (`buckets` at creation; see README, "One hot
 * coupon"). Bucket 0 is the coupon's own keys and holds the whole stock at creation; the create spreads an even
 * share to every other bucket. An asker is decided in their home bucket; a dry one takes half of another
 * bucket's stock (a transfer: CouponStockMoved in the giver's outbox, CouponStockReceived in the taker's,
 * idempotent by transfer id, finished by the relay if this process dies between the two) and decides again.
 *
 * SOLD_OUT is answered only when it was true at an instant of the request: every bucket's issued count is
 * read, then the total, and only a sum at the total says so (counts and the total only grow, so the sum read
 * is at most the issued count at the last read, and the total read after it at least the total then). Stock
 * in flight between buckets counts as unissued: the asker waits for it to land.
 */
export class StockBuckets {
  private readonly runner: ScriptRunner;
  /** Coupon → where its buckets live (fixed at creation); SINGLE for a coupon not split. */
  private readonly layouts = new BoundedCache<string, { shards: readonly number[] }>(4 << 20, (couponId, l) => 96 + couponId.length + 8 * l.shards.length);

  constructor(runner: ScriptRunner) {
    this.runner = runner;
  }

  /** Where a new coupon's `buckets` buckets go: on a cluster, dealt round the masters serving the shards now. */
  async place(couponId: string, buckets: number): Promise<number[]> {
    const { shards } = this.runner.settings;
    const masterOfSlot = await this.runner.reading((redis) => slotMasters(redis));
    return placeBuckets(shardOf(couponId, shards), buckets, shards, masterOfSlot && ((shard) => masterOfSlot(keySlot(shardTag(shard)))));
  }

  /** The coupon's bucket layout, or undefined for a coupon not split into buckets (or one Redis does not hold). */
  async layoutOf(couponId: string): Promise<BucketLayout | undefined> {
    let known = this.layouts.get(couponId);
    if (known === undefined) {
      const [state, placed] = await this.runner.readRetried((redis) => redis.hmget(this.runner.keys(couponId).coupon, 'st', 'bsh'));
      known = layoutFrom(couponId, placed) ?? SINGLE;
      if (state !== null) this.layouts.set(couponId, known);
    }
    return known.shards.length > 1 ? { couponId, shards: known.shards } : undefined;
  }

  /** A coupon this process created: its layout is known without asking Redis. */
  created(couponId: string, shards: readonly number[]): void {
    this.layouts.set(couponId, shards.length > 1 ? { shards } : SINGLE);
  }

  /** Opens every other bucket of a new coupon with an even share of its stock, moved out of bucket 0. */
  async spread(layout: BucketLayout, total: number, meta: EventMeta): Promise<void> {
    const share = Math.floor(total / layout.shards.length);
    for (let bucket = 1; bucket < layout.shards.length; bucket++) {
      const transfer = await bucketGiveScript(this.runner, layout, uuidv7(), 0, bucket, share, uuidv7(), meta, true);
      if (typeof transfer === 'object') await bucketReceiveScript(this.runner, layout, transfer, uuidv7(), meta, true);
    }
  }

  async issue(layout: BucketLayout, userId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, claims: string, human: HumanVerdict = ''): Promise<IssueResult> {
    const home = homeBucket(userId, layout.shards.length);
    const deadline = Date.now() + this.runner.settings.retryMs;
    let transfer: Transfer | undefined;
    for (let round = 0; ; round++) {
      const decided = await bucketIssueScript(this.runner, layout, home, userId, eventId, meta, request, claims, transfer, transfer ? uuidv7() : '', round > 0, human);
      transfer = undefined;
      if (decided.outcome === 'NO_BUCKET') {
        // Not opened yet (a create cut short: bucket 0 opens it now), on its way (the create's or the relay's
        // transfer lands it), or lost with its node: never made again empty, so after the retry time 503. Bucket 0
        // itself gone is the coupon lost from Redis: the caller restores it from the log.
        // An asker the bot gate refuses opens nothing.
        if (human !== '1' && home !== 0 && (await this.runner.reading((redis) => redis.hexists(keysOfBucket(layout, 0).coupon, 'hc'))) === 1) return { outcome: 'HUMAN_CHECK_FAILED' };
        const opening = home === 0 ? 'NO_BUCKET' : await bucketGiveScript(this.runner, layout, uuidv7(), 0, home, undefined, uuidv7(), meta, true);
        if (opening === 'NO_BUCKET') return { outcome: 'COUPON_NOT_FOUND' };
        if (typeof opening === 'object') transfer = opening;
      } else if (decided.outcome === 'LIST_PENDING') {
        // A bucket opened after an allow-list change decides by it only once it holds it: carried now, then asked again.
        await this.carryAllowList(layout.couponId, meta);
        if (Date.now() >= deadline) throw new DependencyUnavailable('redis', new Error(`bucket ${home} of ${layout.couponId} still lacks its allow-list`), true);
        continue;
      } else if (decided.outcome !== 'DRY') {
        return decided as IssueResult;
      } else {
        transfer = await this.takeStock(layout, home, meta);
        const total = transfer ? undefined : await this.soldOutAt(layout);
        if (total !== undefined) {
          // Sold out at this total stays so until stock is added: the home bucket answers it alone till then.
          await this.runner.decide('bucketSoldOut', [keysOfBucket(layout, home).coupon, total]).catch(() => undefined);
          return { outcome: 'SOLD_OUT' };
        }
      }
      if (transfer) continue;
      // Stock (or the bucket itself) is on its way: it lands within a call, or the relay lands it.
      if (Date.now() >= deadline) throw new DependencyUnavailable('redis', new Error(`bucket ${home} of ${layout.couponId} has no stock and more is in flight, or it was lost`), true);
      await sleep(Math.min(50, 2 ** round));
    }
  }

  /** Half the stock of the first other bucket (from a random one on) that has some, moved toward `home`; undefined when none has. */
  private async takeStock(layout: BucketLayout, home: number, meta: EventMeta): Promise<Transfer | undefined> {
    const others = layout.shards.length - 1;
    const start = Math.floor(Math.random() * others);
    for (let i = 0; i < others; i++) {
      const giver = (home + 1 + ((start + i) % others)) % layout.shards.length;
      const transfer = await bucketGiveScript(this.runner, layout, uuidv7(), giver, home, undefined, uuidv7(), meta);
      if (typeof transfer === 'object') return transfer;
    }
    return undefined;
  }

  /** The total the coupon was sold out at, at an instant of this call; undefined when it was not. */
  private async soldOutAt(layout: BucketLayout): Promise<number | undefined> {
    const counts = await Promise.all(layout.shards.map((_, b) => bucketReadScript(this.runner, layout, b, '', true)));
    const { total } = await bucketReadScript(this.runner, layout, 0, '', true);
    return total !== undefined && counts.reduce((sum, c) => sum + c.issued, 0) >= total ? total : undefined;
  }

  /**
   * Called by the relay before it sends a CouponStockMoved: the transfer taken in by its bucket if no asker did.
   * Answers BUCKET_LOST when the taker is gone (its stock is lost with it; the audit shows the move never received).
   */
  async completeTransfer(couponId: string, moved: EventOf<'CouponStockMoved'>['data'], gate: string): Promise<'RECEIVED' | 'RECEIVED_BEFORE' | 'BUCKET_LOST'> {
    const layout = await this.layoutOf(couponId);
    if (!layout) throw new Error(`${couponId} moved stock between buckets, but Redis holds no bucket layout for it`);
    const settings = await this.runner.reading((redis) => redis.hget(keysOfBucket(layout, moved.fromBucket).coupon, 'cfg'));
    if (settings === null) throw new Error(`bucket ${moved.fromBucket} of ${couponId} holds no settings`);
    const { transferId, fromBucket: from, toBucket: to, first, last } = moved;
    return bucketReceiveScript(this.runner, layout, { transferId, from, to, first, last, settings, gate, opens: moved.opens === true }, uuidv7(), {}, false);
  }

  /**
   * After stock was added (to bucket 0), to a total of `total`: no other bucket answers SOLD_OUT from a mark made at
   * an older total (bucket-reopen.lua). Run by the add and, should its process die first, by the relay before it
   * sends the CouponStockAdded.
   */
  async reopen(couponId: string, total: number): Promise<void> {
    const layout = await this.layoutOf(couponId);
    if (!layout) return;
    await Promise.all(layout.shards.slice(1).map((_, i) => this.runner.decide('bucketReopen', [keysOfBucket(layout, i + 1).coupon, total])));
  }

  /**
   * A use undone, in the bucket that holds it: the holder's home bucket, which the use's record names (it stays
   * there, so a retry finds the same bucket and its memory). A sequence no bucket has a use of was not in use at
   * the instant its bucket was read: NOT_USED, or ISSUED_COUPON_NOT_FOUND beyond the total, as the rules say.
   */
  async cancelUse(layout: BucketLayout, sequence: number, orderId: string | null, eventId: string, meta: EventMeta, request: AdmissionRequest): Promise<CancelUseResult> {
    // Bucket 0 gone is the coupon lost from Redis: the caller restores it from the log.
    if ((await this.bucketHeld(layout, 0)) === 'LOST') return { outcome: 'ISSUED_COUPON_NOT_FOUND' };
    const found = await Promise.all(layout.shards.map((_, b) => this.runner.reading((redis) => redis.hexists(keysOfBucket(layout, b).used, String(sequence)))));
    const bucket = found.indexOf(1);
    if (bucket >= 0) {
      const decided = await cancelScript(this.runner, layout.couponId, sequence, orderId, eventId, meta, request, keysOfBucket(layout, bucket));
      if (decided.outcome === 'LEGACY_USE') throw new Error(`${layout.couponId}.${sequence}: a stock bucket holds a use recorded before cancellations`);
      return decided;
    }
    // A use may have been lost with its bucket: that is not a NOT_USED.
    await this.noneLost(layout);
    const total = Number(await this.runner.reading((redis) => redis.hget(keysOfBucket(layout, 0).coupon, 'tot')));
    return { outcome: sequence >= 1 && sequence <= total ? 'NOT_USED' : 'ISSUED_COUPON_NOT_FOUND' };
  }

  /** Whether bucket `bucket` holds stock and holders: opened, not opened yet, or opened and lost with its node since. */
  async bucketHeld(layout: BucketLayout, bucket: number): Promise<'OPEN' | 'NOT_OPENED' | 'LOST'> {
    const [held, opened] = await Promise.all([
      this.runner.reading((redis) => redis.hexists(keysOfBucket(layout, bucket).coupon, 'cfg')),
      bucket === 0 ? 1 : this.runner.reading((redis) => redis.hexists(keysOfBucket(layout, 0).coupon, `op:${bucket}`)),
    ]);
    return held === 1 ? 'OPEN' : opened === 1 ? 'LOST' : 'NOT_OPENED';
  }

  /** 503 when a bucket of the coupon (bucket 0 included) was lost: what it held cannot be answered for. */
  async noneLost(layout: BucketLayout): Promise<void> {
    const held = await Promise.all(layout.shards.map((_, b) => this.bucketHeld(layout, b)));
    const lost = held.flatMap((h, b) => (h === 'LOST' ? [b] : []));
    if (lost.length > 0) throw new DependencyUnavailable('redis', new Error(`bucket(s) ${lost.join(', ')} of ${layout.couponId} were lost from Redis`), true);
  }

  /**
   * After the coupon's window or required claims changed (in bucket 0): the settings bucket 0 holds now carried to
   * every other bucket, each announcing what it took in its own outbox. Run by the change and, should its process
   * die first, by the relay before it sends the change; carried twice or late, the newest revision stands.
   */
  async carrySettings(couponId: string, meta: EventMeta): Promise<void> {
    const layout = await this.layoutOf(couponId);
    if (!layout) return;
    const others = layout.shards.map((_, b) => b).slice(1);
    const settings = await this.runner.reading((redis) => redis.hget(keysOfBucket(layout, 0).coupon, 'cfg'));
    if (!settings) throw new Error(`bucket 0 of ${couponId} holds no settings`);
    await Promise.all(others.map((b) => bucketSettingsScript(this.runner, layout, b, settings, meta)));
  }

  /** After bucket 0's allow-list changed: each other bucket's share put in force there (allow-list-carry.ts); `bounded` but by the relay. */
  async carryAllowList(couponId: string, meta: EventMeta, bounded = true): Promise<void> {
    const layout = await this.layoutOf(couponId);
    if (layout) await carryAllowList(this.runner, layout, (userId) => homeBucket(userId, layout.shards.length), meta, bounded);
  }

  /**
   * Issuing closed in every bucket but 0; answers the gate the coupon's own close must follow. An opening still in
   * flight is finished first, so the close lands on the opened bucket: its asker's late receipt then finds it taken
   * in and closed, and never opens the bucket from the settings bucket 0 gave before the close.
   */
  async closeBuckets(layout: BucketLayout, meta: EventMeta): Promise<string> {
    // The coupon's own close would be refused while its outbox is at the bound: the buckets are not closed ahead of
    // it (they would refuse askers with no close in the log). A close that took effect is only asked again.
    const head = keysOfBucket(layout, 0);
    const [status, waiting] = await this.runner.reading((redis) => Promise.all([redis.hget(head.coupon, 'st'), redis.xlen(head.outbox)]));
    if (status !== 'CLOSED' && waiting >= (this.runner.settings.outboxMaxEntries ?? Number.MAX_SAFE_INTEGER)) throw new EventLogBacklog();
    await this.finishOpenings(layout, meta);
    const gates = await Promise.all(layout.shards.slice(1).map((_, i) => bucketCloseScript(this.runner, layout, i + 1)));
    return gates.filter((g) => g !== '').join(';');
  }

  /**
   * Each bucket bucket 0 gave its opening to ('op:<n>', the transfer id) that holds no settings yet while that
   * CouponStockMoved is still in bucket 0's outbox (once sent, the relay saw it taken in, so a bucket without
   * settings was lost: it stays so) takes it in now, with the settings bucket 0 holds now.
   */
  private async finishOpenings(layout: BucketLayout, meta: EventMeta): Promise<void> {
    const head = keysOfBucket(layout, 0);
    const others = layout.shards.map((_, b) => b).slice(1);
    const [settings, ...openings] = await this.runner.reading((redis) => redis.hmget(head.coupon, 'cfg', ...others.map((b) => `op:${b}`)));
    if (!settings) return;
    await Promise.all(others.map(async (to, i) => {
      const transferId = openings[i];
      // '1': opened by a restore, which puts every bucket it opens in place.
      if (!transferId || transferId === '1' || (await this.bucketHeld(layout, to)) !== 'LOST') return;
      const given = await this.runner.reading((redis) => redis.hget(head.coupon, `o:${transferId}`));
      const [, first, last, entry] = /^(\d+)-(\d+)-(.+)$/.exec(given ?? '') ?? [];
      if (!entry || (await this.runner.reading((redis) => redis.xrange(head.outbox, entry, entry))).length === 0) return;
      const opening = { transferId, from: 0, to, first: Number(first), last: Number(last), settings, gate: `${head.outbox}|${entry}`, opens: true };
      await bucketReceiveScript(this.runner, layout, opening, uuidv7(), meta, true);
    }));
  }

  /** Bucket 0's snapshot with every bucket's counts summed, and the caller's issuance from their home bucket. */
  async snapshot(head: CouponSnapshot, layout: BucketLayout, userId?: string): Promise<CouponSnapshot> {
    const home = userId === undefined ? -1 : homeBucket(userId, layout.shards.length);
    const counts = await Promise.all(layout.shards.map((_, b) => bucketReadScript(this.runner, layout, b, b === home ? userId : '')));
    const sum = (pick: (c: (typeof counts)[number]) => number) => counts.reduce((n, c) => n + pick(c), 0);
    const mine = home >= 0 ? counts[home]!.mine : undefined;
    return {
      ...head,
      issuedCount: sum((c) => c.issued),
      usedCount: inUse({ usedCount: sum((c) => c.used), cancelledCount: sum((c) => c.cancelled) }),
      revokedCount: sum((c) => c.revoked),
      mine: mine ? {
        issuedCouponId: issuedCouponId(layout.couponId, mine.sequence),
        ...(mine.state === 'U' ? { usedAt: new Date(Number(mine.at)) } : mine.state === 'R' ? { revokedAt: new Date(Number(mine.at)) } : {}),
      } : undefined,
    };
  }
}
