import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { shardKeys } from '../coupons/admission/keys.ts';
import type { LogMessage } from '../kafka/kafka-client.ts';
import type { Logger } from '../log/logger.ts';
import { outboxEntryToEvent } from './outbox-entry.ts';
import type { ShardLeases } from './shard-leases.ts';

export interface EventProducer {
  append(topic: string, messages: LogMessage[]): Promise<unknown>;
  close(): Promise<void>;
}

export interface RelayOptions {
  /** Commands, and the leases' connection. */
  redis: Redis;
  /** A connection of its own for the blocking XREAD. */
  reader: Redis;
  leases: ShardLeases;
  openProducer: () => Promise<EventProducer>;
  topic: string;
  batchSize: number;
  /** How long to wait for a batch to fill when fewer than batchSize entries are waiting. */
  lingerMs: number;
  logger: Logger;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * Drains the admission outbox into Kafka. Entries are deleted only after Kafka acknowledged them, so a
 * crash at any point re-sends (never loses) them; consumers drop the duplicates by eventId. After a failed
 * send the producer is replaced, because an idempotent producer's sequence state is suspect after one.
 */
export class OutboxRelay {
  private stopping = false;
  private producer?: EventProducer;
  /** Last id sent per held shard; entries up to it are in Kafka. '0-0' reads a shard from its oldest entry. */
  private readonly sentUpTo = new Map<number, string>();
  private leasesRefreshedAt = 0;
  relayed = 0;
  deadLettered = 0;

  constructor(private readonly o: RelayOptions) {}

  async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.refreshLeases();
        if (this.sentUpTo.size === 0) {
          await sleep(this.o.leases.leaseMs / 3);
          continue;
        }
        await this.relayOnce();
        failures = 0;
      } catch (error) {
        failures++;
        this.o.logger.warn({ err: error, failures }, 'relay iteration failed; retrying');
        await this.producer?.close().catch(() => undefined);
        this.producer = undefined;
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
    await this.producer?.close().catch(() => undefined);
    await this.o.leases.releaseAll().catch(() => undefined);
  }

  stop(): void {
    this.stopping = true;
  }

  private async refreshLeases(): Promise<void> {
    if (Date.now() - this.leasesRefreshedAt < this.o.leases.leaseMs / 3) return;
    const held = new Set(await this.o.leases.refresh());
    this.leasesRefreshedAt = Date.now();
    for (const shard of this.sentUpTo.keys()) if (!held.has(shard)) this.sentUpTo.delete(shard);
    for (const shard of held) if (!this.sentUpTo.has(shard)) this.sentUpTo.set(shard, '0-0');
  }

  private read(shards: number[], block: boolean): Promise<StreamReply> {
    const streams = [...shards.map((s) => shardKeys(s).outbox), ...shards.map((s) => this.sentUpTo.get(s)!)];
    return (block
      ? this.o.reader.xread('COUNT', this.o.batchSize, 'BLOCK', 200, 'STREAMS', ...streams)
      : this.o.reader.xread('COUNT', this.o.batchSize, 'STREAMS', ...streams)) as Promise<StreamReply>;
  }

  private async relayOnce(): Promise<void> {
    const shards = [...this.sentUpTo.keys()];
    let reply = await this.read(shards, true);
    if (!reply) return;
    // Under steady load XREAD returns with a handful of entries; lingering a few milliseconds lets a
    // batch fill, so a Kafka round trip carries hundreds of events instead of a few.
    const entries = reply.reduce((n, [, e]) => n + e.length, 0);
    if (entries < this.o.batchSize && this.o.lingerMs > 0) {
      await sleep(this.o.lingerMs);
      reply = (await this.read(shards, false)) ?? reply;
    }

    const messages: LogMessage[] = [];
    const invalid: { shard: number; id: string; fields: string[]; reason: string }[] = [];
    const done: { shard: number; ids: string[] }[] = [];
    for (const [key, entries] of reply) {
      const shard = shards.find((s) => shardKeys(s).outbox === key)!;
      for (const [id, fields] of entries) {
        try {
          const event = outboxEntryToEvent(fields);
          messages.push({
            key: event.couponId,
            value: JSON.stringify(event),
            headers: { 'event-type': event.type, 'event-id': event.eventId },
          });
        } catch (error) {
          invalid.push({ shard, id, fields, reason: (error as Error).message });
        }
      }
      done.push({ shard, ids: entries.map(([id]) => id) });
    }

    if (messages.length > 0) {
      this.producer ??= await this.o.openProducer();
      await this.producer.append(this.o.topic, messages);
    }
    const cleanup = this.o.redis.multi();
    for (const dead of invalid) {
      cleanup.xadd(shardKeys(dead.shard).deadLetters, '*', ...dead.fields, 'reason', dead.reason, 'outboxId', dead.id);
    }
    for (const { shard, ids } of done) cleanup.xdel(shardKeys(shard).outbox, ...ids);
    await cleanup.exec();
    for (const { shard, ids } of done) this.sentUpTo.set(shard, ids[ids.length - 1]!);
    this.relayed += messages.length;
    this.deadLettered += invalid.length;
    for (const dead of invalid) this.o.logger.error({ shard: dead.shard, outboxId: dead.id, reason: dead.reason }, 'outbox entry dead-lettered');
  }
}
