import type { Redis } from 'ioredis';
import { parseCouponEvent, type CouponEvent } from '../events/coupon-events.ts';

/**
 * The admission outbox: one Redis stream per shard, written by the admission scripts in the same atomic step
 * as the decisions they record (prelude.lua's `append`), drained into Kafka by the relay. This module owns its
 * keys, its entries' shape, its depth and its reading; the coupons' keys share the shard's hash tag, so an
 * admission call and its outbox append stay in one Redis Cluster slot.
 */

export const shardTag = (shard: number): string => `{cp:${shard}}`;

/** A shard's outbox stream, where entries that are no event go, and the lease and fencing epoch of the relay draining it. */
export function shardKeys(shard: number): { outbox: string; deadLetters: string; relayLease: string; relayEpoch: string } {
  const t = shardTag(shard);
  return { outbox: `${t}:outbox`, deadLetters: `${t}:outbox-dead`, relayLease: `${t}:relay-lease`, relayEpoch: `${t}:relay-epoch` };
}

/** A stream entry: its id, and its flat [field, value, …] list. */
export type OutboxEntry = [id: string, fields: string[]];

/**
 * An entry's fields as prelude.lua writes them: t the event type, e its id, c the coupon, at when (epoch ms),
 * d its data and m its meta (JSON), v its version (absent in entries older than versions: 1).
 */
export function outboxEntryToEvent(fields: string[]): CouponEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const parseJson = (text: string | undefined) => {
    try {
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    } catch {
      return text;
    }
  };
  return parseCouponEvent({
    eventId: f.e,
    type: f.t,
    version: f.v ? Number(f.v) : 1,
    couponId: f.c,
    occurredAt: f.at && /^\d+$/.test(f.at) ? new Date(Number(f.at)).toISOString() : f.at,
    data: parseJson(f.d),
    meta: parseJson(f.m),
  });
}

/**
 * The entries an entry must follow into the log (prelude.lua's `append` gate, field g: `stream|id;…`): entries of
 * other outboxes it depends on, such as the CouponStockMoved a bucket's CouponStockReceived takes in.
 */
export function entryGate(fields: string[]): [stream: string, id: string][] {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'g') continue;
    return fields[i + 1]!.split(';').filter((part) => part !== '').map((part) => part.split('|') as [string, string]);
  }
  return [];
}

/** Whether every entry a gate names has left its outbox (the relay deletes an entry once Kafka has it). */
export async function gateOpen(redis: Redis, gate: [stream: string, id: string][]): Promise<boolean> {
  for (const [stream, id] of gate) {
    if ((await redis.xrange(stream, '-', id, 'COUNT', 1)).length > 0) return false;
  }
  return true;
}

export interface OutboxDepth {
  /** Pending events per shard, in shard order. */
  pending: number[];
  bound: number;
  /** Shards holding as many pending events as they may: their coupons' changes answer 503 EVENT_LOG_UNAVAILABLE. */
  full: number[];
}

/** How far the relay is behind, shard by shard (one XLEN each: the relay deletes what Kafka acknowledged). */
export async function outboxDepth(redis: Redis, shards: number, bound: number): Promise<OutboxDepth> {
  const pending = await Promise.all(Array.from({ length: shards }, (_, shard) => redis.xlen(shardKeys(shard).outbox)));
  return { pending, bound, full: pending.flatMap((n, shard) => (n >= bound ? [shard] : [])) };
}

/**
 * Up to `count` of the oldest entries of each given shard, one stream per command (pipelined into one round
 * trip, each command in one Redis Cluster slot). What was sent is deleted, so the oldest left is the next to send.
 */
export async function oldestEntries(redis: Redis, shards: number[], count: number): Promise<Map<number, OutboxEntry[]>> {
  const replies = await Promise.all(shards.map((shard) =>
    redis.xread('COUNT', count, 'STREAMS', shardKeys(shard).outbox, '0-0') as Promise<[string, OutboxEntry[]][] | null>));
  const out = new Map<number, OutboxEntry[]>();
  replies.forEach((reply, i) => {
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length > 0) out.set(shards[i]!, entries);
  });
  return out;
}

/**
 * Events admitted but not yet relayed: admission state includes them, the log does not yet. In the order the relay
 * sends them: each shard's in stream order, an entry only after the entries its gate names (a bucket's stock received
 * after it was moved), so a fold reads them as the log will hold them.
 */
export async function outboxEvents(redis: Redis, shards: number): Promise<CouponEvent[]> {
  const streams = new Map<string, { entries: OutboxEntry[]; next: number }>();
  for (let shard = 0; shard < shards; shard++) streams.set(shardKeys(shard).outbox, { entries: await redis.xrange(shardKeys(shard).outbox, '-', '+'), next: 0 });
  const events: CouponEvent[] = [];
  const push = (fields: string[]) => {
    try {
      events.push(outboxEntryToEvent(fields));
    } catch {
      // The relay dead-letters these; they never reach the log or a read model.
    }
  };
  // A gate's entry is still waiting while its stream's next unread entry is at or before it (streams are in id order).
  const waiting = (stream: string, id: string) => {
    const s = streams.get(stream);
    const head = s?.entries[s.next];
    return head !== undefined && !entryIdBefore(id, head[0]);
  };
  for (let moved = true; moved;) {
    moved = false;
    for (const [stream, s] of streams) {
      while (s.next < s.entries.length && entryGate(s.entries[s.next]![1]).every(([other, id]) => other === stream || !waiting(other, id))) {
        moved = true;
        push(s.entries[s.next++]![1]);
      }
    }
  }
  // Gates only name earlier entries, so nothing is left; were anything left, it is still read, never dropped.
  for (const s of streams.values()) for (const [, fields] of s.entries.slice(s.next)) push(fields);
  return events;
}

/** Whether stream entry id `a` (ms-seq) comes before `b`. */
function entryIdBefore(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am < bm || (am === bm && as < bs);
}
