import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../log/logger.ts';

export const COUPON_CLOSED_CHANNEL = 'coupon-closed';
/** Stock added or the issue window moved: what a process learned of the coupon may no longer hold. */
export const COUPON_REOPENED_CHANNEL = 'coupon-reopened';
/** Each process's own heartbeat, published through its command connection and expected back on its subscription. */
const HEARTBEAT_CHANNEL = 'coupon-feed-heartbeat';

/** What the feed tells its listener; between `lost` and the next `live` no message can be trusted to arrive. */
export interface ChangeListener {
  closed(couponId: string): void;
  reopened(couponId: string): void;
  /** The subscription is in place from now on: nothing published before this was seen. */
  live(): void;
  /** The subscription may have missed messages: whatever was learned from it no longer holds. */
  lost(): void;
}

export interface ChangeFeedOptions {
  /** Redis URLs to subscribe on, tried in turn (every node of a Redis Cluster hears every PUBLISH). */
  nodes: string[];
  /** How often a heartbeat is published. */
  heartbeatMs?: number;
  /** Without a heartbeat back for this long, the subscription is taken as lost (a node cut off from its cluster, a stalled link). */
  silenceMs?: number;
}

/**
 * The closes and reopenings the admission scripts publish, heard on a plain connection of its own to one node
 * at a time. The listener is told `live` only once SUBSCRIBE was acknowledged, and `lost` the moment the
 * connection closes or the process's own heartbeat stops coming back; then the feed reconnects, to the next
 * node when one stays away. TCP keepalive finds a peer that vanished without closing.
 */
export class CouponChangeFeed {
  private subscriber?: Redis;
  private node = 0;
  private live = false;
  private heardAt = 0;
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;
  private readonly nonce = randomUUID();
  private firstLive?: () => void;

  constructor(
    private readonly publisher: Redis,
    private readonly listener: ChangeListener,
    private readonly options: ChangeFeedOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts listening; until the subscription is live the listener answers nothing from memory. Resolves when it
   * first is (a process need not wait: it answers from Redis meanwhile).
   */
  start(): Promise<void> {
    const live = new Promise<void>((resolve) => (this.firstLive = resolve));
    const heartbeatMs = this.options.heartbeatMs ?? 1_000;
    const silenceMs = this.options.silenceMs ?? 3_000;
    this.heartbeat = setInterval(() => {
      if (this.live && Date.now() - this.heardAt > silenceMs) this.drop('no heartbeat back');
      this.publisher.publish(HEARTBEAT_CHANNEL, this.nonce).catch(() => undefined);
    }, heartbeatMs);
    this.heartbeat.unref();
    this.connect();
    return live;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.subscriber?.disconnect();
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.options.nodes[this.node % this.options.nodes.length]!;
    // A node that stays away for a few attempts is left for the next one.
    const subscriber = new Redis(url, { lazyConnect: true, autoResubscribe: false, keepAlive: 5_000, connectTimeout: 3_000, retryStrategy: (attempt) => (attempt > 3 ? null : attempt * 200) });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => this.heard(channel, message));
    subscriber.on('close', () => this.drop('connection closed'));
    subscriber.on('ready', () => void this.subscribe(subscriber));
    subscriber.on('end', () => {
      if (this.stopped || this.subscriber !== subscriber) return;
      this.node++;
      setTimeout(() => this.connect(), 200).unref();
    });
    subscriber.connect().catch(() => undefined);
  }

  private async subscribe(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(COUPON_CLOSED_CHANNEL, COUPON_REOPENED_CHANNEL, HEARTBEAT_CHANNEL);
    } catch {
      return; // the connection went away again: 'close' said so
    }
    if (this.subscriber !== subscriber || subscriber.status !== 'ready') return;
    this.live = true;
    this.heardAt = Date.now();
    this.listener.live();
    this.firstLive?.();
  }

  private heard(channel: string, message: string): void {
    if (channel === HEARTBEAT_CHANNEL) {
      if (message === this.nonce) this.heardAt = Date.now();
    } else if (channel === COUPON_REOPENED_CHANNEL) {
      this.listener.reopened(message);
    } else {
      this.listener.closed(message);
    }
  }

  private drop(reason: string): void {
    if (!this.live) return;
    this.live = false;
    this.listener.lost();
    this.logger.warn({ reason }, 'coupon change feed lost: answering from Redis until it is back');
    // A link that stalled without closing is closed here, so the reconnect starts over.
    if (reason !== 'connection closed') this.subscriber?.disconnect(true);
  }
}
