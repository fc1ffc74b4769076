import { sql } from 'kysely';
import type { Projection, Tables } from '../../projections/projection.ts';
import type { Db } from '../db/database.ts';
import { parseCouponEvent, type CouponEvent } from '../events/coupon-events.ts';
import type { ConsumedMessage } from '../kafka/kafka-client.ts';

/** Where a run of a projection writes: the live tables, or a rebuild's shadow copies with their own checkpoints. */
export interface ProjectionTarget {
  /** The name its checkpoints are stored under (`coupon`, or `coupon@rebuild` for a shadow run). */
  checkpointName: string;
  tables: Tables;
  /** Live runs hold this MySQL lock per batch, so a rebuild can swap tables between two batches. */
  lockName?: string;
  /** For a look at the past: events after this instant are read but not applied. */
  asOf?: Date;
}

export type BatchOutcome =
  | { kind: 'applied'; applied: number; deadLettered: number; nextOffset: bigint }
  | { kind: 'behind-checkpoint' }
  | { kind: 'seek'; offset: bigint };

export const liveTarget = (projection: Projection<unknown>): ProjectionTarget => ({
  checkpointName: projection.name,
  tables: Object.fromEntries(projection.tables.map((t) => [t, t])),
  lockName: `projection:${projection.name}`,
});

interface Decoded {
  offset: bigint;
  event?: CouponEvent;
  failure?: { reason: string; payload: string | null };
}

function decode(message: ConsumedMessage): Decoded {
  const offset = BigInt(message.offset);
  try {
    return { offset, event: parseCouponEvent(JSON.parse(message.value ?? 'null')) };
  } catch (error) {
    return { offset, failure: { reason: (error as Error).message.slice(0, 2000), payload: message.value } };
  }
}

/**
 * Applies one partition's batch exactly once: the rows and the checkpoint `(projection, topic, partition,
 * next offset)` are written in one transaction, and messages below the stored checkpoint are skipped, so
 * a batch delivered again after a crash changes nothing. A batch that starts past the checkpoint means
 * the consumer is ahead of what MySQL holds; the caller seeks back instead of leaving a gap.
 */
export async function applyBatch(
  db: Db,
  projection: Projection<unknown>,
  target: ProjectionTarget,
  topic: string,
  partition: number,
  messages: readonly ConsumedMessage[],
): Promise<BatchOutcome> {
  const decoded = messages.map(decode);
  return db.connection().execute(async (connection) => {
    if (target.lockName) {
      const { rows } = await sql<{ locked: number | null }>`SELECT GET_LOCK(${target.lockName}, 60) AS locked`.execute(connection);
      if (rows[0]?.locked !== 1) throw new Error(`could not take ${target.lockName} within 60 s`);
    }
    try {
      return await connection.transaction().execute(async (tx) => {
        const stored = await tx
          .selectFrom('projection_checkpoint')
          .select('next_offset')
          .where('projection', '=', target.checkpointName)
          .where('topic', '=', topic)
          .where('partition_no', '=', partition)
          .forUpdate()
          .executeTakeFirst();
        const checkpoint = BigInt(stored?.next_offset ?? 0);
        if (decoded[0]!.offset > checkpoint) return { kind: 'seek', offset: checkpoint } as const;
        const fresh = decoded.filter((d) => d.offset >= checkpoint);
        if (fresh.length === 0) return { kind: 'behind-checkpoint' } as const;

        const events = fresh.flatMap((d) =>
          d.event && projection.handles.includes(d.event.type) && (!target.asOf || new Date(d.event.occurredAt) <= target.asOf) ? [d.event] : [],
        );
        if (events.length > 0) await projection.write(tx, projection.changes(events), target.tables);
        const failures = fresh.filter((d) => d.failure);
        if (failures.length > 0) {
          await tx
            .insertInto('projection_dead_letter')
            .values(failures.map((d) => ({
              projection: target.checkpointName, topic, partition_no: partition, offset: d.offset,
              reason: d.failure!.reason, payload: d.failure!.payload, created_at: new Date(),
            })))
            .onDuplicateKeyUpdate({ reason: sql.ref('reason') })
            .execute();
        }
        const nextOffset = fresh[fresh.length - 1]!.offset + 1n;
        const lastEventAt = events.length > 0 ? new Date(events[events.length - 1]!.occurredAt) : null;
        await sql`INSERT INTO projection_checkpoint (projection, topic, partition_no, next_offset, last_event_at, updated_at)
          VALUES (${target.checkpointName}, ${topic}, ${partition}, ${nextOffset.toString()}, ${lastEventAt}, ${new Date()})
          ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset),
            last_event_at = COALESCE(VALUES(last_event_at), last_event_at), updated_at = VALUES(updated_at)`.execute(tx);
        return { kind: 'applied', applied: events.length, deadLettered: failures.length, nextOffset } as const;
      });
    } finally {
      if (target.lockName) await sql`SELECT RELEASE_LOCK(${target.lockName})`.execute(connection);
    }
  });
}

export async function storedPositions(db: Db, checkpointName: string, topic: string): Promise<Map<number, bigint>> {
  const rows = await db
    .selectFrom('projection_checkpoint')
    .select(['partition_no', 'next_offset'])
    .where('projection', '=', checkpointName)
    .where('topic', '=', topic)
    .execute();
  return new Map(rows.map((r) => [r.partition_no, BigInt(r.next_offset)]));
}
