import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../log/logger.ts';

export const COUPON_CLOSED_CHANNEL = 'coupon-closed';
/** Stock added or the issue window moved: what a process learned of the coupon may no longer hold. */
export const COUPON_REOPENED_CHANNEL = 'coupon-reopened';

/** What the feed tells its listener; between `lost` and the next `live` no message can be trusted to arrive. */
export interface ChangeListener {
  closed(couponId: string): void;
  reopened(couponId: string): void;
  /** Messages published from now on arrive: nothing published before this was seen. */
  live(): void;
  /** The subscription may have missed messages: whatever was learned from it no longer holds. */
  lost(): void;
}

export interface ChangeFeedOptions {
  /** Redis URLs to subscribe on, tried in turn (every node of a Redis Cluster hears every PUBLISH). */
  nodes: string[];
  /**
   * The connections a heartbeat may be published through: on a cluster, each master's own, so one other than
   * the node subscribed to can be chosen and the heartbeat proves the cluster bus too.
   */
  publishers: () => Redis[];
  /** How often a heartbeat is published. */
  heartbeatMs?: number;
  /** Without a heartbeat back for this long (or none at all since connecting), the subscription is taken as lost. */
  silenceMs?: number;
}

const address = (host: string | undefined, port: number | undefined) => `${host === 'localhost' ? '127.0.0.1' : host}:${port}`;

/**
 * The closes and reopenings the admission scripts publish, heard on a plain connection of its own to one node
 * at a time. The listener is told `live` only once this process's own heartbeat, published through another
 * node where there is one, has come back on the subscription (so a node that takes SUBSCRIBE but hears nothing,
 * cut off from its cluster or not of it, never counts), and `lost` the moment the connection closes or the
 * heartbeat stops coming back; the feed then moves on to the next node. A node that never gets there (one that
 * takes the connection and answers nothing) is left after the same silence. TCP keepalive finds a peer that
 * vanished without closing.
 */
export class CouponChangeFeed {
  private subscriber?: Redis;
  private node = -1;
  private subscribed = false;
  private live = false;
  /** When the current connection began, and when its last heartbeat came back. */
  private since = 0;
  private heardAt = 0;
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;
  private readonly channel = `coupon-feed-heartbeat:${randomUUID()}`;
  private firstLive?: () => void;

  private readonly listener: ChangeListener;
  private readonly options: ChangeFeedOptions;
  private readonly logger: Logger;

  constructor(listener: ChangeListener, options: ChangeFeedOptions, logger: Logger) {
    this.listener = listener;
    this.options = options;
    this.logger = logger;
  }

  /**
   * Starts listening; until the feed is live the listener answers nothing from memory. Resolves when it first
   * is (a process need not wait: it answers from Redis meanwhile).
   */
  start(): Promise<void> {
    const live = new Promise<void>((resolve) => (this.firstLive = resolve));
    const silenceMs = this.options.silenceMs ?? 3_000;
    this.heartbeat = setInterval(() => {
      const quiet = Date.now() - Math.max(this.heardAt, this.since);
      if (quiet > silenceMs) this.moveOn(this.live ? 'no heartbeat back' : 'not live in time');
      else if (this.subscribed) this.beat();
    }, this.options.heartbeatMs ?? 1_000);
    this.heartbeat.unref();
    this.moveOn('starting');
    return live;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.subscriber?.disconnect();
  }

  /** Leaves the current node (if any) for the next one. */
  private moveOn(reason: string): void {
    this.drop(reason);
    const previous = this.subscriber;
    this.subscriber = undefined;
    previous?.disconnect();
    if (this.stopped) return;
    this.node++;
    this.since = Date.now();
    const url = this.options.nodes[this.node % this.options.nodes.length]!;
    const subscriber = new Redis(url, { lazyConnect: true, autoResubscribe: false, keepAlive: 5_000, connectTimeout: 3_000, maxRetriesPerRequest: 1, retryStrategy: () => null });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => {
      if (this.subscriber === subscriber) this.heard(channel, message);
    });
    subscriber.on('close', () => {
      if (this.subscriber === subscriber) this.drop('connection closed');
    });
    subscriber.connect().then(() => this.subscribe(subscriber), () => undefined);
  }

  private async subscribe(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(COUPON_CLOSED_CHANNEL, COUPON_REOPENED_CHANNEL, this.channel);
    } catch {
      return; // the connection went away again: the heartbeat moves on
    }
    if (this.subscriber !== subscriber) return;
    this.subscribed = true;
    this.beat();
  }

  /** Publishes this process's heartbeat through a node other than the one subscribed to, where there is one. */
  private beat(): void {
    const here = this.subscriber ? address(this.subscriber.options.host, this.subscriber.options.port) : '';
    const publishers = this.options.publishers();
    const elsewhere = publishers.filter((p) => address(p.options.host, p.options.port) !== here);
    const through = (elsewhere.length > 0 ? elsewhere : publishers)[Math.floor(Math.random() * (elsewhere.length || publishers.length))];
    through?.publish(this.channel, '1').catch(() => undefined);
  }

  private heard(channel: string, couponId: string): void {
    if (channel === this.channel) {
      this.heardAt = Date.now();
      if (!this.live) {
        this.live = true;
        this.listener.live();
        this.firstLive?.();
      }
    } else if (channel === COUPON_REOPENED_CHANNEL) {
      this.listener.reopened(couponId);
    } else if (channel === COUPON_CLOSED_CHANNEL) {
      this.listener.closed(couponId);
    }
  }

  private drop(reason: string): void {
    this.subscribed = false;
    if (!this.live) return;
    this.live = false;
    this.listener.lost();
    this.logger.warn({ reason }, 'coupon change feed lost: answering from Redis until it is back');
  }
}
