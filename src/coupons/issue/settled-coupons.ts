import type { Redis } from 'ioredis';
import type { Logger } from '../../log/logger.ts';
import { issuedCouponId } from '../ids.ts';
import { couponKeys } from '../admission/keys.ts';

export const COUPON_CLOSED_CHANNEL = 'coupon-closed';
/** Stock added or the issue window moved: what a process learned of the coupon may no longer hold. */
export const COUPON_REOPENED_CHANNEL = 'coupon-reopened';

type Final = 'SOLD_OUT' | 'COUPON_CLOSED';
/** `done`: past its use (its window about to end): kept as a marker so its last SOLD_OUT answers do not reload it. */
type Entry = { state: 'loading' } | { state: 'too-many' } | { state: 'done' } | { state: 'ready'; outcome: Final; holders: Map<string, number>; issueEndMs: number };

/**
 * The script checks the issue window before the stock, so from the window's end it answers ISSUE_ENDED, not
 * SOLD_OUT. Memory stops answering this long before that end (by this process's clock; Redis's decides), so
 * the two clocks may disagree by as much without a wrong answer.
 */
const WINDOW_END_MARGIN_MS = 5_000;

/** Above this many holders a coupon is not kept in memory: its askers go to Redis as before. */
const MAX_HOLDERS = 200_000;
/** Coupons remembered at all (markers included); the longest-known is forgotten first. */
const MAX_COUPONS_KNOWN = 10_000;
/** Holders kept across every settled coupon; the longest-known coupons make room for new ones. */
const MAX_HOLDERS_KEPT = 1_000_000;

/**
 * Coupons that can never admit again in this process's memory, so the storm after a sell-out is answered
 * without a Redis call. A sold-out or closed coupon's holders can no longer change, so once this process has
 * learned the final state (from an answer Redis gave it) it loads the holders once and then answers exactly as
 * the script would: ALREADY_ISSUED with the caller's coupon for a holder, the final code for anyone else. The
 * changes left arrive by pub/sub: a sold-out coupon being closed (from the close script) and stock added to it
 * (from the stock script: it is forgotten and asked of Redis again); when the subscription drops, everything
 * learned is forgotten and learned again from Redis.
 */
export class SettledCoupons {
  private readonly entries = new Map<string, Entry>();
  /** Without the close messages a remembered SOLD_OUT could outlive a close: nothing is answered from memory. */
  private listening = false;

  constructor(
    private readonly redis: Redis,
    private readonly shards: number,
    private readonly logger: Logger,
  ) {}

  /** Listens for closes on its own connection (a subscribed connection can do nothing else). */
  async listen(subscriber: Redis): Promise<void> {
    subscriber.on('message', (channel: string, couponId: string) => (channel === COUPON_REOPENED_CHANNEL ? this.reopened(couponId) : this.closed(couponId)));
    // A message missed while the subscription was down could leave a stale SOLD_OUT: start over instead.
    subscriber.on('ready', () => this.entries.clear());
    subscriber.on('end', () => this.entries.clear());
    await subscriber.subscribe(COUPON_CLOSED_CHANNEL, COUPON_REOPENED_CHANNEL);
    this.listening = true;
  }

  /** The coupon was closed: a remembered SOLD_OUT becomes COUPON_CLOSED; one still loading is dropped. */
  closed(couponId: string): void {
    const entry = this.entries.get(couponId);
    if (entry?.state === 'ready') entry.outcome = 'COUPON_CLOSED';
    else this.entries.delete(couponId);
  }

  /** Stock was added or the window moved: whatever was learned of the coupon is forgotten, one still loading included. */
  reopened(couponId: string): void {
    this.entries.delete(couponId);
  }

  /** The answer Redis would give this caller, when it is known here; undefined sends the request to Redis. */
  answer(couponId: string, userId: string): { outcome: 'ALREADY_ISSUED'; issuedCouponId: string } | { outcome: Final } | undefined {
    const entry = this.listening ? this.entries.get(couponId) : undefined;
    if (entry?.state !== 'ready') return undefined;
    if (entry.outcome === 'SOLD_OUT' && Date.now() >= entry.issueEndMs - WINDOW_END_MARGIN_MS) {
      this.entries.set(couponId, { state: 'done' });
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
    if (this.entries.size >= MAX_COUPONS_KNOWN) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(couponId, { state: 'loading' });
    void this.load(couponId, outcome).catch((error: unknown) => {
      this.entries.delete(couponId);
      this.logger.warn({ err: error, couponId }, 'could not load the holders of a settled coupon; answering from Redis');
    });
  }

  private async load(couponId: string, outcome: Final): Promise<void> {
    const { holders: key, coupon } = couponKeys(couponId, this.shards);
    if ((await this.redis.hlen(key)) > MAX_HOLDERS) {
      this.entries.set(couponId, { state: 'too-many' });
      return;
    }
    const holders = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 5_000);
      for (let i = 0; i < flat.length; i += 2) holders.set(flat[i]!, Number(flat[i + 1]));
      cursor = next;
    } while (cursor !== '0');
    // Read last: a close before this read is seen here, one after it arrives as a message (which drops a
    // loading entry), so the state set below is never older than Redis's.
    const [status, issueEnd, total, issued] = await this.redis.hmget(coupon, 'st', 'ie', 'tot', 'iss');
    if (this.entries.get(couponId)?.state !== 'loading') return;
    // Learned from an answer that stock added since has made stale (its message may come first): not settled.
    if (status !== 'CLOSED' && Number(issued) < Number(total)) {
      this.entries.delete(couponId);
      return;
    }
    this.makeRoom(holders.size);
    this.entries.set(couponId, { state: 'ready', outcome: status === 'CLOSED' ? 'COUPON_CLOSED' : outcome, holders, issueEndMs: Number(issueEnd) });
  }

  /** A long-running process meets many campaigns: forget the earliest settled ones (they go back to Redis). */
  private makeRoom(needed: number): void {
    let kept = needed;
    for (const entry of this.entries.values()) if (entry.state === 'ready') kept += entry.holders.size;
    for (const [couponId, entry] of this.entries) {
      if (kept <= MAX_HOLDERS_KEPT) return;
      if (entry.state !== 'ready') continue;
      kept -= entry.holders.size;
      this.entries.delete(couponId);
    }
  }
}
