import { sql } from 'kysely';
import type { Projection, Tables } from '../../projections/projection.ts';
import type { Db } from '../db/database.ts';
import { retryOnDeadlock } from '../db/retry-deadlock.ts';
import { parseCouponEvent, type CouponEvent } from '../events/coupon-events.ts';
import type { ConsumedMessage } from '../kafka/kafka-client.ts';
import { foreignCheckpoints, LogMismatchError, type CheckpointLog } from './followed-log.ts';

/** Where a run of a projection writes: the live tables, or a rebuild's shadow copies with their own checkpoints. */
export interface ProjectionTarget {
  /** The name its checkpoints are stored under (`coupon`, or `coupon@rebuild` for a shadow run). */
  checkpointName: string;
  tables: Tables;
  /** Live runs hold `<lock>:<partition>` per batch, so a rebuild can swap tables between two batches. */
  lockName?: string;
  /** For a look at the past: events after this instant are read but not applied. */
  asOf?: Date;
}

/** A projection and where it writes: what one batch is applied to. */
export interface ProjectionRun {
  projection: Projection<unknown>;
  target: ProjectionTarget;
}

export type BatchOutcome =
  | { kind: 'applied'; applied: number; deadLettered: number; byProjection: { projection: string; applied: number; deadLettered: number }[] }
  | { kind: 'behind-checkpoint' }
  | { kind: 'seek'; offset: bigint };

export const projectionLock = (lockName: string, partition: number) => `${lockName}:${partition}`;

export const liveRun = (projection: Projection<unknown>): ProjectionRun => ({
  projection,
  target: {
    checkpointName: projection.name,
    tables: Object.fromEntries(projection.tables.map((t) => [t, t])),
    lockName: `projection:${projection.name}`,
  },
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

const ensured = new Set<string>();

/**
 * Checkpoint rows exist before the first batch's transaction locks them: batches of several partitions run
 * at once, and a checkpoint inserted inside the transaction took gap locks that deadlocked with theirs.
 * Offset 0 is what a missing row means anyway.
 */
async function ensureCheckpointRows(db: Db, runs: readonly ProjectionRun[], topic: string, partition: number): Promise<void> {
  const missing = runs.map((r) => r.target.checkpointName).filter((name) => !ensured.has(`${name}\n${topic}\n${partition}`));
  if (missing.length === 0) return;
  await retryOnDeadlock(() => db.insertInto('projection_checkpoint').ignore()
    .values(missing.map((projection) => ({ projection, topic, partition_no: partition, next_offset: 0, last_event_at: null, updated_at: new Date() })))
    .execute());
  for (const name of missing) ensured.add(`${name}\n${topic}\n${partition}`);
}

/**
 * Applies one partition's batch to every run exactly once: rows and checkpoints `(projection, topic,
 * partition, next offset)` are written in one transaction, and each run skips what is below its own
 * checkpoint, so a batch delivered again after a crash changes nothing. Events are decoded once for all
 * runs. A batch that starts past a checkpoint means the consumer is ahead of MySQL; the caller seeks back.
 * Each checkpoint records the log it was written against (`log`); one recorded against another log (a
 * rebuild swapped in while this process followed the old one) is refused, never extended.
 */
export async function applyBatch(
  db: Db, runs: readonly ProjectionRun[], topic: string, partition: number, messages: readonly ConsumedMessage[], log: CheckpointLog,
): Promise<BatchOutcome> {
  const decoded = messages.map(decode);
  const locks = runs.flatMap((r) => (r.target.lockName ? [projectionLock(r.target.lockName, partition)] : []));
  await ensureCheckpointRows(db, runs, topic, partition);
  return db.connection().execute(async (connection) => {
    for (const lock of locks) {
      const { rows } = await sql<{ locked: number | null }>`SELECT GET_LOCK(${lock}, 60) AS locked`.execute(connection);
      if (rows[0]?.locked !== 1) throw new Error(`could not take ${lock} within 60 s`);
    }
    try {
      return await retryOnDeadlock(() => connection.transaction().execute(async (tx) => {
        const stored = await tx
          .selectFrom('projection_checkpoint')
          .select(['projection', 'partition_no', 'next_offset', 'log_cluster_id', 'log_first_record'])
          .where('projection', 'in', runs.map((r) => r.target.checkpointName))
          .where('topic', '=', topic)
          .where('partition_no', '=', partition)
          .forUpdate()
          .execute();
        const foreign = foreignCheckpoints(stored, log);
        if (foreign.length > 0) throw new LogMismatchError(topic, foreign);
        const checkpointOf = (run: ProjectionRun) => BigInt(stored.find((s) => s.projection === run.target.checkpointName)?.next_offset ?? 0);
        const lowest = runs.map(checkpointOf).reduce((a, b) => (b < a ? b : a));
        if (decoded[0]!.offset > lowest) return { kind: 'seek', offset: lowest } as const;

        let applied = 0;
        let deadLettered = 0;
        let wrote = false;
        const byProjection: { projection: string; applied: number; deadLettered: number }[] = [];
        for (const run of runs) {
          const fresh = decoded.filter((d) => d.offset >= checkpointOf(run));
          if (fresh.length === 0) continue;
          wrote = true;
          const { projection, target } = run;
          const handled = fresh.filter((d): d is Decoded & { event: CouponEvent } =>
            Boolean(d.event && projection.handles.includes(d.event.type) && (!target.asOf || new Date(d.event.occurredAt) <= target.asOf)));
          const events = handled.map((d) => d.event);
          if (events.length > 0) {
            await projection.write(tx, projection.changes(events, handled.map((d) => ({ partition, offset: d.offset }))), target.tables);
          }
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
          await sql`INSERT INTO projection_checkpoint (projection, topic, partition_no, next_offset, last_event_at, updated_at, log_cluster_id, log_first_record)
            VALUES (${target.checkpointName}, ${topic}, ${partition}, ${nextOffset.toString()}, ${lastEventAt}, ${new Date()}, ${log.clusterId}, ${log.firstRecord})
            ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset),
              last_event_at = COALESCE(VALUES(last_event_at), last_event_at), updated_at = VALUES(updated_at),
              log_cluster_id = VALUES(log_cluster_id), log_first_record = VALUES(log_first_record)`.execute(tx);
          applied += events.length;
          deadLettered += failures.length;
          byProjection.push({ projection: target.checkpointName, applied: events.length, deadLettered: failures.length });
        }
        return wrote ? ({ kind: 'applied', applied, deadLettered, byProjection } as const) : ({ kind: 'behind-checkpoint' } as const);
      }));
    } finally {
      for (const lock of locks) await sql`SELECT RELEASE_LOCK(${lock})`.execute(connection);
    }
  });
}

/** Where each partition must be read from for these runs: the lowest of their checkpoints. */
export async function lowestPositions(db: Db, runs: readonly ProjectionRun[], topic: string): Promise<Map<number, bigint>> {
  const rows = await db
    .selectFrom('projection_checkpoint')
    .select(['projection', 'partition_no', 'next_offset'])
    .where('projection', 'in', runs.map((r) => r.target.checkpointName))
    .where('topic', '=', topic)
    .execute();
  const partitions = new Set(rows.map((r) => r.partition_no));
  const positions = new Map<number, bigint>();
  for (const partition of partitions) {
    const offsets = runs.map((run) => BigInt(rows.find((r) => r.projection === run.target.checkpointName && r.partition_no === partition)?.next_offset ?? 0));
    positions.set(partition, offsets.reduce((a, b) => (b < a ? b : a)));
  }
  return positions;
}
