import { sql } from 'kysely';
import type { Projection } from '../../projections/projection.ts';
import type { Db } from '../db/database.ts';
import type { KafkaClient } from '../kafka/kafka-client.ts';
import { applyBatch, storedPositions, type ProjectionTarget } from './apply-batch.ts';
import { ASOF_SUFFIX, REBUILD_SUFFIX, shadowTable } from './rebuild-names.ts';

export interface RebuildProgress {
  done: number;
  total: number;
  eventsPerSecond: number;
  phase: 'replaying' | 'swapping' | 'done';
}

export interface RebuildResult {
  projection: string;
  events: number;
  seconds: number;
  tables: string[];
  swapped: boolean;
}

/** Catch-up rounds stop when the shadow is this close to the live end; the rest is done under the lock. */
const CLOSE_ENOUGH = 5_000n;

const sum = (m: Map<number, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);

/**
 * Replays the log into shadow copies of a projection's tables while the live projector keeps running,
 * catches up to the live end, then swaps tables and checkpoints while holding the projection's lock, so
 * queries never see a half-built model. Stopped, it resumes from its shadow checkpoints. With `asOf`, it
 * builds `<table>__asof` side tables of the past and swaps nothing.
 */
export async function rebuildProjection(
  deps: { db: Db; kafka: KafkaClient; topic: string },
  projection: Projection<unknown>,
  options: { asOf?: Date; onProgress?: (p: RebuildProgress) => void } = {},
): Promise<RebuildResult> {
  const { db, kafka, topic } = deps;
  const asOf = options.asOf;
  const target: ProjectionTarget = {
    checkpointName: `${projection.name}${asOf ? ASOF_SUFFIX : REBUILD_SUFFIX}`,
    tables: Object.fromEntries(projection.tables.map((t) => [t, shadowTable(t, Boolean(asOf))])),
    asOf,
  };
  const shadows = Object.values(target.tables);
  if (asOf) await discard(db, target);
  for (const live of projection.tables) {
    await sql`CREATE TABLE IF NOT EXISTS ${sql.table(target.tables[live]!)} LIKE ${sql.table(live)}`.execute(db);
  }

  const started = Date.now();
  const startPositions = await storedPositions(db, target.checkpointName, topic);
  let total = sum(await kafka.endOffsets(topic)) - sum(startPositions);
  let done = 0;
  const report = (phase: RebuildProgress['phase']) =>
    options.onProgress?.({ done, total: Number(total), phase, eventsPerSecond: done / Math.max(0.001, (Date.now() - started) / 1000) });

  const replayTo = async (until: Map<number, bigint>) => {
    const from = await storedPositions(db, target.checkpointName, topic);
    await kafka.scan(topic, async (batch) => {
      const outcome = await applyBatch(db, projection, target, topic, batch.partition, batch.messages);
      if (outcome.kind === 'seek') throw new Error(`shadow checkpoint for partition ${batch.partition} is behind the scan`);
      done += batch.messages.length;
      report('replaying');
    }, { from, until });
  };

  // Rounds until the shadow is close to the moving end of the log.
  for (;;) {
    const ends = await kafka.endOffsets(topic);
    total = sum(ends) - sum(startPositions);
    await replayTo(ends);
    const behind = sum(await kafka.endOffsets(topic)) - sum(await storedPositions(db, target.checkpointName, topic));
    if (behind <= CLOSE_ENOUGH) break;
  }
  if (asOf) {
    report('done');
    return { projection: projection.name, events: done, seconds: (Date.now() - started) / 1000, tables: shadows, swapped: false };
  }

  report('swapping');
  const lock = `projection:${projection.name}`;
  await db.connection().execute(async (connection) => {
    const { rows } = await sql<{ locked: number | null }>`SELECT GET_LOCK(${lock}, 120) AS locked`.execute(connection);
    if (rows[0]?.locked !== 1) throw new Error(`could not take ${lock}: is another rebuild running?`);
    try {
      // The live projector is paused between batches now, so the end of the log is as far as it can be.
      const ends = await kafka.endOffsets(topic);
      total = sum(ends) - sum(startPositions);
      await replayTo(ends);
      const renames = projection.tables.map((t) => sql`${sql.table(t)} TO ${sql.table(`${t}__old`)}, ${sql.table(target.tables[t]!)} TO ${sql.table(t)}`);
      await sql`RENAME TABLE ${sql.join(renames)}`.execute(connection);
      // A crash between the rename and these lines leaves older checkpoints on newer tables: the live
      // projector then re-applies a few events, which changes nothing (every change is idempotent).
      await connection.transaction().execute(async (tx) => {
        await tx.deleteFrom('projection_checkpoint').where('projection', '=', projection.name).where('topic', '=', topic).execute();
        await tx.updateTable('projection_checkpoint').set({ projection: projection.name })
          .where('projection', '=', target.checkpointName).where('topic', '=', topic).execute();
      });
    } finally {
      await sql`SELECT RELEASE_LOCK(${lock})`.execute(connection);
    }
  });
  for (const t of projection.tables) await sql`DROP TABLE IF EXISTS ${sql.table(`${t}__old`)}`.execute(db);
  report('done');
  return { projection: projection.name, events: done, seconds: (Date.now() - started) / 1000, tables: [...projection.tables], swapped: true };
}

async function discard(db: Db, target: ProjectionTarget): Promise<void> {
  for (const table of Object.values(target.tables)) await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  await db.deleteFrom('projection_checkpoint').where('projection', '=', target.checkpointName).execute();
}
