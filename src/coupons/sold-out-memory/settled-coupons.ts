import type { Redis } from 'ioredis';
import type { Logger } from '../../log/logger.ts';
import { issuedCouponId } from '../../ids/ids.ts';
import { couponKeys, keysOfBucket, layoutFrom, type BucketLayout } from '../admission/keys.ts';
import { settledAnswer } from '../rules/coupon-rules.ts';
import type { ChangeListener } from './coupon-change-feed.ts';

type Final = 'SOLD_OUT' | 'COUPON_CLOSED';
/** `done`: past its use (its window about to end): kept as a marker so its last SOLD_OUT answers do not reload it. */
type Loading = { state: 'loading'; epoch: number };
/** `confirmedAt`: when the last read that found it settled was sent (this process's clock); it is trusted until a lease after. */
type Ready = { state: 'ready'; outcome: Final; holders: Map<string, number>; issueEndMs: number; bytes: number; confirmedAt: number; layout: BucketLayout | undefined };
type Entry = Loading | { state: 'too-many' } | { state: 'done' } | Ready;

/**
 * The script checks the issue window before the stock, so from the window's end it answers ISSUE_ENDED, not
 * SOLD_OUT. Memory stops answering this long before that end (by this process's clock; Redis's decides), so
 * the two clocks may disagree by as much without a wrong answer.
 */
const WINDOW_END_MARGIN_MS = 5_000;
/**
 * How long a read that found a coupon settled is trusted. A change that would make memory wrong (stock added,
 * the window moved, a close) answers its caller only this long after it was made (`settle`), so no request begun
 * after that answer is answered from a memory older than the change, whatever the messages' delay.
 */
export const MEMORY_LEASE_MS = 1_000;
/** Coupons remembered at all (markers included); the longest-known is forgotten first. */
const MAX_COUPONS_KNOWN = 10_000;
/** What a remembered holder costs, about: the id's bytes and the map's entry around them. */
const holderBytes = (userId: string) => 80 + userId.length;

/**
 * Coupons that can never admit again in this process's memory, so the storm after a sell-out is answered
 * without a Redis call. A sold-out or closed coupon's holders can no longer change, so once this process has
 * learned the final state it loads the holders once and then answers exactly as the script would:
 * ALREADY_ISSUED with the caller's coupon for a holder, the final code for anyone else.
 *
 * What may change it arrives by the change feed: a sold-out coupon being closed, stock added or the window moved
 * (forgotten, asked of Redis again). Memory answers only while the feed is live: when it is lost, everything
 * learned is forgotten, and a load begun before is never installed. A load installs only if nothing touched its
 * coupon meanwhile and the holders it read are all of them (as many as were issued), so a snapshot from before a
 * reopening and a second sell-out never stands for the second. Memory is bounded in bytes, not holders.
 */
export class SettledCoupons implements ChangeListener {
  private readonly entries = new Map<string, Entry>();
  private renewing?: NodeJS.Timeout;
  private listening = false;
  /** One more each time the feed comes back: a load from an earlier one may have missed a message. */
  private epoch = 0;
  private bytes = 0;

  private readonly redis: Redis;
  private readonly shards: number;
  private readonly logger: Logger;
  /** Bytes of holders kept across every settled coupon; one coupon above it is never kept. */
  private readonly budgetBytes: number;
  /** This process's clock, which may run ahead of Redis's. */
  private readonly now: () => number;

  constructor(redis: Redis, shards: number, logger: Logger, options: { budgetBytes?: number; now?: () => number } = {}) {
    this.redis = redis;
    this.shards = shards;
    this.logger = logger;
    this.budgetBytes = options.budgetBytes ?? 64 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  live(): void {
    this.forget();
    this.epoch++;
    this.listening = true;
    // Renewed four times a lease, so a renewal held up by a busy process or a slow answer rarely lets it lapse.
    this.renewing ??= setInterval(() => void this.renew(), MEMORY_LEASE_MS / 4).unref();
  }

  /** Stops renewing (a process shutting down). */
  stop(): void {
    clearInterval(this.renewing);
    this.renewing = undefined;
  }

  /**
   * This process made a change that may unsettle the coupon: applied here at once, and the caller waits until no
   * process trusts a memory older than the change before answering (the other processes may hear of it later).
   */
  async changed(couponId: string, change: 'reopened' | 'closed'): Promise<void> {
    if (change === 'reopened') this.reopened(couponId);
    else this.closed(couponId);
    await new Promise((resolve) => setTimeout(resolve, MEMORY_LEASE_MS));
  }

  lost(): void {
    this.listening = false;
    this.epoch++;
    this.forget();
  }

  /** The coupon was closed: a remembered SOLD_OUT becomes COUPON_CLOSED; one still loading is dropped. */
  closed(couponId: string): void {
    const entry = this.entries.get(couponId);
    if (entry?.state === 'ready') entry.outcome = 'COUPON_CLOSED';
    else this.delete(couponId);
  }

  /** Stock was added or the window moved: whatever was learned of the coupon is forgotten, one still loading included. */
  reopened(couponId: string): void {
    this.delete(couponId);
  }

  /** The answer Redis would give this caller, when it is known here; undefined sends the request to Redis. */
  answer(couponId: string, userId: string): { outcome: 'ALREADY_ISSUED'; issuedCouponId: string } | { outcome: Final } | undefined {
    const entry = this.listening ? this.entries.get(couponId) : undefined;
    if (entry?.state !== 'ready' || this.now() - entry.confirmedAt > MEMORY_LEASE_MS) return undefined;
    if (entry.outcome === 'SOLD_OUT' && this.nearEnd(entry.issueEndMs)) {
      this.markDone(couponId);
      return undefined;
    }
    const held = entry.holders.get(userId);
    return held === undefined ? { outcome: entry.outcome } : { outcome: 'ALREADY_ISSUED', issuedCouponId: issuedCouponId(couponId, held) };
  }

  /** Redis answered a final code for this coupon: load its holders (once) and answer from memory after that. */
  learn(couponId: string, outcome: Final): void {
    if (!this.listening) return;
    const entry = this.entries.get(couponId);
    if (entry?.state === 'ready') {
      if (outcome === 'COUPON_CLOSED') entry.outcome = outcome;
      return;
    }
    if (entry) return;
    if (this.entries.size >= MAX_COUPONS_KNOWN) this.delete(this.entries.keys().next().value!);
    const loading: Loading = { state: 'loading', epoch: this.epoch };
    this.entries.set(couponId, loading);
    void this.load(couponId, outcome, loading).catch((error: unknown) => {
      if (this.entries.get(couponId) === loading) this.entries.delete(couponId);
      this.logger.warn({ err: error, couponId }, 'could not load the holders of a settled coupon; answering from Redis');
    });
  }

  private async load(couponId: string, outcome: Final, loading: Loading): Promise<void> {
    const own = couponKeys(couponId, this.shards);
    // A coupon split into stock buckets keeps each holder in their home bucket: every bucket's holders are read.
    const layout = layoutFrom(couponId, await this.redis.hget(own.coupon, 'bsh'));
    const holders = new Map<string, number>();
    let bytes = 0;
    for (const key of layout ? layout.shards.map((_, b) => keysOfBucket(layout, b).holders) : [own.holders]) {
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 5_000);
        for (let i = 0; i < flat.length; i += 2) {
          holders.set(flat[i]!, Number(flat[i + 1]));
          bytes += holderBytes(flat[i]!);
        }
        if (bytes > this.budgetBytes) {
          if (this.entries.get(couponId) === loading) this.entries.set(couponId, { state: 'too-many' });
          return;
        }
        cursor = next;
      } while (cursor !== '0');
    }
    // Read last: the feed was live before this read, so any later change arrives as a message, which drops `loading`.
    const confirmedAt = this.now();
    const fields = await this.fieldsOf(couponId, layout);
    if (this.entries.get(couponId) !== loading) return;
    // Redis may still answer SOLD_OUT here (its clock behind this one): loading again on each of those answers would scan for nothing.
    if (fields[0] !== 'CLOSED' && this.nearEnd(Number(fields[2]))) return this.markDone(couponId);
    const settled = finalAnswer(fields, confirmedAt);
    // Holders only grow, one per issue (in a bucketed coupon, one per issue of their bucket): as many as issued means
    // the scan missed none admitted while it ran.
    if (!settled || loading.epoch !== this.epoch || holders.size !== Number(fields[4])) {
      this.entries.delete(couponId);
      return;
    }
    this.makeRoom(bytes);
    this.bytes += bytes;
    this.entries.set(couponId, { state: 'ready', outcome: settled === 'COUPON_CLOSED' ? settled : outcome, holders, issueEndMs: Number(fields[2]), bytes, confirmedAt, layout });
  }

  /**
   * Reads every remembered coupon again (a few times per lease): still settled with the same window, its lease
   * starts over; closed since, it answers COUPON_CLOSED; anything else (stock added, the window moved), forgotten.
   */
  private async renew(): Promise<void> {
    const ready = [...this.entries].filter((e): e is [string, Ready] => e[1].state === 'ready');
    await Promise.all(ready.map(async ([couponId, entry]) => {
      const sentAt = this.now();
      const fields = await this.fieldsOf(couponId, entry.layout).catch(() => undefined);
      if (this.entries.get(couponId) !== entry || fields === undefined) return;
      const settled = finalAnswer(fields, sentAt);
      if (settled === 'COUPON_CLOSED') entry.outcome = settled;
      else if (entry.outcome === 'SOLD_OUT' && Number(fields[2]) === entry.issueEndMs && this.nearEnd(entry.issueEndMs)) return this.markDone(couponId);
      else if (settled !== 'SOLD_OUT' || Number(fields[2]) !== entry.issueEndMs) return this.delete(couponId);
      entry.confirmedAt = sentAt;
    }));
  }

  /**
   * The coupon's `st is ie tot iss` as its own hash holds them; for a coupon split into stock buckets, bucket 0's
   * (where the close, the window and the total are decided first) with `iss` summed over every bucket, each read
   * after bucket 0: no sequence is left anywhere once they add up to the total.
   */
  private async fieldsOf(couponId: string, layout: BucketLayout | undefined): Promise<(string | null)[]> {
    const fields = await this.redis.hmget(couponKeys(couponId, this.shards).coupon, 'st', 'is', 'ie', 'tot', 'iss');
    if (!layout) return fields;
    const others = await Promise.all(layout.shards.slice(1).map((_, i) => this.redis.hget(keysOfBucket(layout, i + 1).coupon, 'iss')));
    return [...fields.slice(0, 4), String(others.reduce((sum, iss) => sum + Number(iss ?? 0), Number(fields[4] ?? 0)))];
  }

  /** From this long before the window's end (by this process's clock), a SOLD_OUT coupon is left to Redis. */
  private nearEnd(issueEndMs: number): boolean {
    // A coupon read without its end (a hash half restored) is no reason to stop remembering it.
    return issueEndMs > 0 && this.now() >= issueEndMs - WINDOW_END_MARGIN_MS;
  }

  /** Left to Redis without being loaded again; a reopening (the window moved) or a lost feed forgets the marker. */
  private markDone(couponId: string): void {
    this.delete(couponId);
    this.entries.set(couponId, { state: 'done' });
  }

  private delete(couponId: string): void {
    const entry = this.entries.get(couponId);
    if (entry?.state === 'ready') this.bytes -= entry.bytes;
    this.entries.delete(couponId);
  }

  private forget(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  /** A long-running process meets many campaigns: forget the earliest settled ones (they go back to Redis). */
  private makeRoom(needed: number): void {
    for (const [couponId, entry] of this.entries) {
      if (this.bytes + needed <= this.budgetBytes) return;
      if (entry.state === 'ready') this.delete(couponId);
    }
  }
}

/** The rules' answer to anyone who holds none, from the coupon's fields `st is ie tot iss` at `now`; only a final one is remembered. */
function finalAnswer([status, start, end, total, issued]: (string | null)[], now: number): Final | undefined {
  const answer = settledAnswer({
    status: status === 'CLOSED' ? 'CLOSED' : 'ACTIVE', issueStartAt: Number(start), issueEndAt: Number(end), totalQuantity: Number(total), issued: Number(issued),
  }, now);
  return answer === 'SOLD_OUT' || answer === 'COUPON_CLOSED' ? answer : undefined;
}
