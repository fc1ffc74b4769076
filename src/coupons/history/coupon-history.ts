import { couponHistoryProjection } from '../../../projections/coupon-history/coupon-history-projection.ts';
import type { Db } from '../../db/database.ts';
import { parseCouponEvent, type CouponEvent } from '../../events/coupon-events.ts';
import { partitionFor, type KafkaClient } from '../../kafka/kafka-client.ts';

export interface CouponHistoryDeps {
  db: Db;
  kafka: KafkaClient;
  topic: string;
  partitions: number;
}

/** An event of the coupon at its offset; or, with no event, "stopped scanning here, resume at `offset`". */
export interface HistoryStep {
  offset: bigint;
  event?: CouponEvent;
}

export interface HistoryPage {
  items: (CouponEvent & { offset: number })[];
  nextOffset: number | null;
}

/**
 * The coupon's event a message holds, or none for one the log holds unreadable (the audit and the dead-letter
 * table report those; they never admitted anything), so one bad message never hides the rest of a history.
 */
function eventOf(value: string | null): CouponEvent | undefined {
  try {
    return parseCouponEvent(JSON.parse(value ?? 'null'));
  } catch {
    return undefined;
  }
}

const RANGES_PER_QUERY = 200;
/** A range is a few events apart: one small fetch brings it (the broker still returns a larger record batch whole). */
const RANGE_FETCH_BYTES = 64 * 1024;

/**
 * One coupon's events read from the log at the cost of its own events: the history index names the runs of
 * offsets that hold them, and only what the index has not reached yet (the projector's lag) is scanned.
 */
export class CouponHistory {
  private readonly deps: CouponHistoryDeps;

  constructor(deps: CouponHistoryDeps) {
    this.deps = deps;
  }

  /**
   * The coupon's events at offsets ≥ `from` in log order. The scan of the unindexed tail stops after
   * `tailBudget` messages with a step that says where to resume (only when the index lags that far).
   */
  async *steps(couponId: string, from: bigint, tailBudget = Number.POSITIVE_INFINITY): AsyncGenerator<HistoryStep> {
    const { db, kafka, topic } = this.deps;
    const partition = partitionFor(couponId, this.deps.partitions);
    const end = await kafka.endOffset(topic, partition);
    // Read before the ranges: every range below this offset is committed with it, none is missed.
    const checkpoint = await db.selectFrom('projection_checkpoint').select('next_offset')
      .where('projection', '=', couponHistoryProjection.name).where('topic', '=', topic).where('partition_no', '=', partition).executeTakeFirst();
    const indexed = BigInt(checkpoint?.next_offset ?? 0);
    let position = from;

    for (;;) {
      const ranges = await db.selectFrom('coupon_event_range').select(['first_offset', 'last_offset'])
        .where('coupon_id', '=', couponId).where('partition_no', '=', partition)
        .where('last_offset', '>=', position.toString()).where('first_offset', '<', indexed.toString())
        .orderBy('first_offset').limit(RANGES_PER_QUERY).execute();
      for (const range of ranges) {
        const first = BigInt(range.first_offset);
        const last = BigInt(range.last_offset);
        for await (const messages of kafka.read(topic, partition, first > position ? first : position, last + 1n, { maxBytes: RANGE_FETCH_BYTES })) {
          for (const m of messages) {
            const event = m.key === couponId ? eventOf(m.value) : undefined;
            if (event) yield { offset: BigInt(m.offset), event };
          }
        }
        position = last + 1n;
      }
      if (ranges.length < RANGES_PER_QUERY) break;
    }

    let scanned = 0;
    for await (const messages of kafka.read(topic, partition, position > indexed ? position : indexed, end)) {
      for (const m of messages) {
        const event = m.key === couponId ? eventOf(m.value) : undefined;
        if (event) yield { offset: BigInt(m.offset), event };
        if (++scanned >= tailBudget && BigInt(m.offset) + 1n < end) {
          yield { offset: BigInt(m.offset) + 1n };
          return;
        }
      }
    }
  }

  /** Up to `limit` events from `from`; `nextOffset` is where the next page starts, null when there is none. */
  async page(couponId: string, from: bigint, limit: number, tailBudget: number): Promise<HistoryPage> {
    const items: HistoryPage['items'] = [];
    // One step past the page tells whether another page exists, so the last page is never an empty one.
    for await (const step of this.steps(couponId, from, tailBudget)) {
      if (!step.event || items.length === limit) return { items, nextOffset: Number(step.offset) };
      items.push({ offset: Number(step.offset), ...step.event });
    }
    return { items, nextOffset: null };
  }
}
