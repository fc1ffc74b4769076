import { metrics } from '../metrics/metrics.ts';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogMessage } from '../kafka/kafka-client.ts';
import type { Logger } from '../log/logger.ts';
import { entryGate, gateOpen, oldestEntries, outboxEntryToEvent, shardKeys, type OutboxEntry } from '../outbox/outbox.ts';
import type { EventOf } from '../events/coupon-events.ts';
import type { Liveness } from '../runtime/liveness.ts';
import type { Lease, ShardLeases } from './shard-leases.ts';

export interface EventProducer {
  append(topic: string, messages: LogMessage[]): Promise<unknown>;
  close(): Promise<void>;
}

export interface RelayOptions {
  /** Commands, and the leases' connection. */
  redis: Redis;
  /** A connection of its own for reading the outbox streams. */
  reader: Redis;
  leases: ShardLeases;
  openProducer: () => Promise<EventProducer>;
  topic: string;
  batchSize: number;
  /** How long to wait for a batch to fill when fewer than batchSize entries are waiting. */
  lingerMs: number;
  logger: Logger;
  liveness?: Liveness;
  /**
   * Called before a CouponStockMoved, a CouponStockAdded or a change of window or claims is sent, with the entry it
   * came from, to finish what its process may have died before finishing: the transfer taken in by its bucket, a
   * bucketed coupon's buckets reopened or given the change.
   */
  beforeSend?: (event: FinishedFirst, gate: string) => Promise<unknown>;
}

interface HeldShard {
  lease: Lease;
}

interface ShardBatch {
  held: HeldShard;
  ids: string[];
  messages: LogMessage[];
  deadLetters: string[][];
}

/** Waiting between empty reads grows to this, so an idle relay costs Redis a few commands a second per shard. */
const MAX_IDLE_MS = 20;

/**
 * Drains the admission outbox into Kafka. Entries are deleted only after Kafka acknowledged them, so a
 * crash at any point re-sends (never loses) them; consumers drop the duplicates by eventId. After a failed
 * send the producer is replaced, because an idempotent producer's sequence state is suspect after one.
 *
 * Each shard is read on its own (one stream key per command, so every command stays in one Redis Cluster
 * slot). Before a send the relay renews each shard's lease under its fencing token, and a send must finish
 * within the lease; the delete after it is fenced too. A relay that stalled (a pause, a slow network)
 * past its lease therefore drops what it read instead of sending it after the new holder, and never
 * deletes for it.
 */
export class OutboxRelay {
  private stopping = false;
  private producer?: EventProducer;
  private readonly held = new Map<number, HeldShard>();
  private leasesRefreshedAt = 0;
  relayed = 0;
  deadLettered = 0;
  /** Batches dropped because the shard changed hands while they were read or sent. */
  fencedOut = 0;

  private readonly o: RelayOptions;

  constructor(o: RelayOptions) {
    this.o = o;
  }

  async run(): Promise<void> {
    let failures = 0;
    let idleMs = 1;
    while (!this.stopping) {
      this.o.liveness?.moved('relay');
      try {
        await this.refreshLeases();
        if (this.held.size === 0) {
          await sleep(this.o.leases.leaseMs / 3);
          continue;
        }
        const sent = await this.relayOnce();
        failures = 0;
        idleMs = sent > 0 ? 1 : Math.min(MAX_IDLE_MS, idleMs * 2);
        if (sent === 0) await sleep(idleMs);
      } catch (error) {
        failures++;
        metrics.relayRetries.inc();
        this.o.logger.warn({ err: error, failures }, 'relay iteration failed; retrying');
        await this.producer?.close().catch(() => undefined);
        this.producer = undefined;
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
    this.o.liveness?.stopped('relay');
    await this.producer?.close().catch(() => undefined);
    await this.o.leases.release([...this.held.values()].map((h) => h.lease)).catch(() => undefined);
  }

  stop(): void {
    this.stopping = true;
  }

  private async refreshLeases(): Promise<void> {
    if (Date.now() - this.leasesRefreshedAt < this.o.leases.leaseMs / 3) return;
    const leases = await this.o.leases.refresh();
    this.leasesRefreshedAt = Date.now();
    const now = new Map(leases.map((l) => [l.shard, l]));
    for (const [shard, held] of this.held) if (now.get(shard)?.token !== held.lease.token) this.held.delete(shard);
    for (const lease of leases) if (!this.held.has(lease.shard)) this.held.set(lease.shard, { lease });
  }

  /**
   * Reads up to a batch from every held shard. Always from the oldest entry: an entry that reappears after a
   * Redis failover (its delete never reached the replica) is sent again rather than left to count against the
   * outbox's bound forever (consumers drop the copy by eventId).
   */
  private read(): Promise<Map<number, OutboxEntry[]>> {
    return oldestEntries(this.o.reader, [...this.held.keys()], this.o.batchSize);
  }

  private async relayOnce(): Promise<number> {
    let read = await this.read();
    const total = (m: Map<number, OutboxEntry[]>) => [...m.values()].reduce((n, e) => n + e.length, 0);
    if (read.size === 0) return 0;
    // Under steady load a read returns a handful of entries; lingering a few milliseconds lets a batch
    // fill, so a Kafka round trip carries hundreds of events instead of a few.
    if (total(read) < this.o.batchSize && this.o.lingerMs > 0) {
      await sleep(this.o.lingerMs);
      const more = await this.read();
      if (total(more) >= total(read)) read = more;
    }

    const batches: ShardBatch[] = [];
    for (const [shard, entries] of read) {
      const held = this.held.get(shard);
      const ready = held ? await this.ready(shard, entries) : [];
      if (held && ready.length > 0) batches.push(this.toBatch(held, ready));
    }
    // Fenced: only shards still this relay's, by the token it read them under, are sent.
    const owned: ShardBatch[] = [];
    const renewedAt = Date.now();
    for (const batch of batches) {
      if (await this.o.leases.renew(batch.held.lease)) owned.push(batch);
      else this.fence(batch.held);
    }
    const messages = owned.flatMap((b) => b.messages);
    if (messages.length > 0) {
      this.producer ??= await this.o.openProducer();
      // The send must end inside the lease just renewed; one that does not is treated as failed (and
      // retried by whoever then holds the shard: consumers drop a copy by eventId).
      const left = this.o.leases.leaseMs - (Date.now() - renewedAt) - 500;
      const produced = metrics.relayProduceDuration.startTimer();
      await withDeadline(this.producer.append(this.o.topic, messages), left);
      produced();
    }
    for (const batch of owned) {
      if (!(await this.o.leases.finish(batch.held.lease, batch.ids, batch.deadLetters))) {
        this.fence(batch.held);
        continue;
      }
      this.relayed += batch.messages.length;
      this.deadLettered += batch.deadLetters.length;
      metrics.relayBatches.inc();
      metrics.relayEventsSent.inc(batch.messages.length);
      metrics.relayDeadLetters.inc(batch.deadLetters.length);
    }
    return messages.length;
  }

  /**
   * The entries that may be sent now, in order: up to the first whose gate is still closed (it follows entries of
   * other shards not sent yet: a bucket's stock received after it was moved, a coupon's close after its buckets'
   * last issues), each CouponStockMoved, CouponStockAdded and settings change (allow-lists too) finished first (`beforeSend`).
   */
  private async ready(shard: number, entries: OutboxEntry[]): Promise<OutboxEntry[]> {
    for (let i = 0; i < entries.length; i++) {
      const [id, fields] = entries[i]!;
      try {
        const gate = entryGate(fields);
        if (gate.length > 0 && !(await gateOpen(this.o.reader, gate))) return entries.slice(0, i);
        if (this.o.beforeSend && FINISHED_FIRST.some((type) => fields.includes(type))) {
          const event = finishedFirst(fields);
          if (event) await this.o.beforeSend(event, `${shardKeys(shard).outbox}|${id}`);
        }
      } catch (error) {
        // Only this shard waits at this entry (and is tried again): the other shards' entries still go.
        this.o.logger.warn({ err: error, shard, outboxId: id }, 'outbox entry not ready to send; its shard waits');
        return entries.slice(0, i);
      }
    }
    return entries;
  }

  private toBatch(held: HeldShard, entries: OutboxEntry[]): ShardBatch {
    const batch: ShardBatch = { held, ids: entries.map(([id]) => id), messages: [], deadLetters: [] };
    for (const [id, fields] of entries) {
      try {
        const event = outboxEntryToEvent(fields);
        batch.messages.push({ key: event.couponId, value: JSON.stringify(event), headers: { 'event-type': event.type, 'event-id': event.eventId } });
      } catch (error) {
        const reason = (error as Error).message;
        batch.deadLetters.push([...fields, 'reason', reason, 'outboxId', id]);
        this.o.logger.error({ shard: held.lease.shard, outboxId: id, reason }, 'outbox entry dead-lettered');
      }
    }
    return batch;
  }

  private fence(held: HeldShard): void {
    this.fencedOut++;
    this.held.delete(held.lease.shard);
    this.o.logger.warn({ shard: held.lease.shard, token: held.lease.token }, 'shard changed hands while its batch was in flight (or, with ADMISSION_REPLICAS=1, no replica confirmed it); batch left in the outbox');
  }
}

/** The CouponStockMoved or CouponStockAdded an entry holds, if it holds a valid one (an invalid entry is dead-lettered as any other). */
/** The events another step must finish before they are sent (`beforeSend`). */
const FINISHED_FIRST = ['CouponStockMoved', 'CouponStockAdded', 'CouponIssueWindowChanged', 'CouponEligibilityChanged', 'CouponAllowListReplaced'] as const;
export type FinishedFirst = EventOf<(typeof FINISHED_FIRST)[number]>;

function finishedFirst(fields: string[]): FinishedFirst | undefined {
  try {
    const event = outboxEntryToEvent(fields);
    return (FINISHED_FIRST as readonly string[]).includes(event.type) ? (event as FinishedFirst) : undefined;
  } catch {
    return undefined;
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`send did not finish within the lease (${Math.max(0, ms)} ms left)`)), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}
