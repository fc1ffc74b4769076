import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../src/db/schema.ts';
import type { CouponEvent, CouponEventType } from '../src/events/coupon-events.ts';

/** Where an event was read from: its partition and offset in the log. */
export interface LogPosition {
  partition: number;
  offset: bigint;
}

/** Logical table name → the physical table a run writes (the live one, or a rebuild's shadow copy). */
export type Tables = Record<string, string>;

/**
 * A read model is data plus functions of events: which events it handles, the row changes a batch of them
 * makes (pure, so tests read as given/when/then), and how those changes are written. Every change must be
 * idempotent: the log may hold an event twice, and the second copy must change nothing.
 */
export interface Projection<Changes> {
  name: string;
  /** The tables it owns; a rebuild fills shadow copies of them and swaps them in. */
  tables: readonly (keyof Database & string)[];
  handles: readonly CouponEventType[];
  /** `positions[i]` is where `events[i]` sits in the log, for projections that index the log itself. */
  changes(events: readonly CouponEvent[], positions: readonly LogPosition[]): Changes;
  write(tx: Transaction<Database>, changes: Changes, tables: Tables): Promise<void>;
}

/** `CASE <key> WHEN ? THEN ? … END`, the way one UPDATE sets a different value on each row. */
export function caseWhen(key: string, pairs: readonly [string, unknown][], otherwise: RawBuilder<unknown> = sql`NULL`): RawBuilder<unknown> {
  return sql`CASE ${sql.ref(key)} ${sql.join(pairs.map(([k, v]) => sql`WHEN ${k} THEN ${v}`), sql` `)} ELSE ${otherwise} END`;
}
