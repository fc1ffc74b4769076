import { sql, type Insertable } from 'kysely';
import type { CouponEventRangeTable } from '../../src/db/schema.ts';
import { chunks } from '../../src/batching/chunks.ts';
import type { Projection } from '../projection.ts';
import { COUPON_EVENT_TYPES } from '../../src/events/coupon-events.ts';

/**
 * A range is cut when a coupon's next event is further than this from its previous one, so reading a
 * range never costs more than this many other coupons' events per event of its own.
 */
export const MAX_RANGE_GAP = 256n;

/**
 * The history index: for each coupon, the runs of log offsets its events sit at. A coupon's history is then
 * read from those offsets only, whatever else the partition holds. Each event is indexed once (the batch's
 * checkpoint moves with the rows); a copy of an event written twice to the log is indexed where it sits.
 */
export const couponHistoryProjection: Projection<Insertable<CouponEventRangeTable>[]> = {
  name: 'coupon_history',
  tables: ['coupon_event_range'],
  // Every type: a history read skips what is not indexed, and a restore folds the whole history.
  handles: COUPON_EVENT_TYPES,

  changes(events, positions) {
    const open = new Map<string, Insertable<CouponEventRangeTable> & { last: bigint }>();
    const ranges: (Insertable<CouponEventRangeTable> & { last: bigint })[] = [];
    events.forEach((event, i) => {
      const { partition, offset } = positions[i]!;
      const key = `${event.couponId}/${partition}`;
      const current = open.get(key);
      if (current && offset - current.last <= MAX_RANGE_GAP) {
        current.last = offset;
        current.last_offset = offset.toString();
        current.events++;
        return;
      }
      const range = { coupon_id: event.couponId, partition_no: partition, first_offset: offset.toString(), last_offset: offset.toString(), events: 1, last: offset };
      open.set(key, range);
      ranges.push(range);
    });
    return ranges.map(({ last: _, ...range }) => range);
  },

  async write(tx, ranges, tables) {
    for (const rows of chunks(ranges)) {
      await tx.insertInto(tables.coupon_event_range as 'coupon_event_range').values(rows)
        .onDuplicateKeyUpdate({ last_offset: sql`VALUES(last_offset)`, events: sql`VALUES(events)` }).execute();
    }
  },
};
