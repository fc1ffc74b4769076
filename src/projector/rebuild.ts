import { sql } from 'kysely';
import type { Projection } from '../../projections/projection.ts';
import type { Db } from '../db/database.ts';
import type { KafkaClient } from '../kafka/kafka-client.ts';
import { applyBatch, lowestPositions, projectionLock, type ProjectionRun } from './apply-batch.ts';
import { assertFollowsLog, FollowedLog, LogMismatchError } from './followed-log.ts';
import { ASOF_SUFFIX, REBUILD_SUFFIX, shadowTable } from './rebuild-names.ts';

export interface RebuildProgress {
  done: number;
  total: number;
  eventsPerSecond: number;
  phase: 'replaying' | 'swapping' | 'done';
}

export interface RebuildResult {
  projections: string[];
  events: number;
  seconds: number;
  tables: string[];
  swapped: boolean;
}

/** As in the live projector: partitions touch different rows, so MySQL commits one while the next is decoded. */
const PARTITIONS_AT_ONCE = 3;

/** Catch-up rounds stop when the shadow is this close to the live end; the rest is done under the locks. */
const CLOSE_ENOUGH = 5_000n;

const sum = (m: Map<number, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);

/**
 * Replays the log once into shadow copies of the projections' tables while the live projector keeps
 * running, catches up to the live end, then swaps tables and checkpoints while holding the projections'
 * locks, so queries never see a half-built model. Stopped, it resumes from its shadow checkpoints (unless
 * they belong to another log: then it starts over). The swapped-in checkpoints carry this log's identity, so
 * read models that followed another log follow this one from then on. With `asOf`, it builds
 * `<table>__asof` side tables of the past and swaps nothing.
 */
export async function rebuildProjections(
  deps: { db: Db; kafka: KafkaClient; topic: string },
  projections: readonly Projection<unknown>[],
  options: { asOf?: Date; onProgress?: (p: RebuildProgress) => void } = {},
): Promise<RebuildResult> {
  const { db, kafka, topic } = deps;
  const asOf = options.asOf;
  const runs = await shadowRuns(deps, projections, asOf);
  const followed = await FollowedLog.verified(db, kafka, topic, runs.map((r) => r.target.checkpointName));
  const started = Date.now();
  const startPositions = await lowestPositions(db, runs, topic);
  let total = 0n;
  let done = 0;
  const report = (phase: RebuildProgress['phase']) =>
    options.onProgress?.({ done, total: Number(total), phase, eventsPerSecond: done / Math.max(0.001, (Date.now() - started) / 1000) });

  const replayTo = async (until: Map<number, bigint>) => {
    total = sum(until) - sum(startPositions);
    await kafka.scan(topic, async (batch) => {
      const outcome = await applyBatch(db, runs, topic, batch.partition, batch.messages, await followed.partition(batch.partition));
      if (outcome.kind === 'seek') throw new Error(`shadow checkpoint for partition ${batch.partition} is behind the scan`);
      done += batch.messages.length;
      report('replaying');
    }, { from: await lowestPositions(db, runs, topic), until, concurrency: PARTITIONS_AT_ONCE });
  };

  // Rounds until the shadow is close to the moving end of the log.
  for (;;) {
    await replayTo(await kafka.endOffsets(topic));
    const behind = sum(await kafka.endOffsets(topic)) - sum(await lowestPositions(db, runs, topic));
    if (behind <= CLOSE_ENOUGH) break;
  }
  const shadows = runs.flatMap((r) => Object.values(r.target.tables));
  if (asOf) {
    report('done');
    return { projections: projections.map((p) => p.name), events: done, seconds: (Date.now() - started) / 1000, tables: shadows, swapped: false };
  }

  report('swapping');
  const partitions = [...(await kafka.endOffsets(topic)).keys()];
  const locks = projections.flatMap((p) => partitions.map((partition) => projectionLock(`projection:${p.name}`, partition)));
  await db.connection().execute(async (connection) => {
    const held: string[] = [];
    try {
      for (const lock of locks) {
        const { rows } = await sql<{ locked: number | null }>`SELECT GET_LOCK(${lock}, 120) AS locked`.execute(connection);
        if (rows[0]?.locked !== 1) throw new Error(`could not take ${lock}: is another rebuild running?`);
        held.push(lock);
      }
      // The live projector is paused between batches now, so the end of the log is as far as it can be.
      await replayTo(await kafka.endOffsets(topic));
      const renames = runs.flatMap(({ projection, target }) =>
        projection.tables.map((t) => sql`${sql.table(t)} TO ${sql.table(`${t}__old`)}, ${sql.table(target.tables[t]!)} TO ${sql.table(t)}`));
      await sql`RENAME TABLE ${sql.join(renames)}`.execute(connection);
      // A crash between the rename and these lines leaves older checkpoints on newer tables: the live
      // projector then re-applies a few events, which changes nothing (every change is idempotent).
      await connection.transaction().execute(async (tx) => {
        for (const { projection, target } of runs) {
          await tx.deleteFrom('projection_checkpoint').where('projection', '=', projection.name).where('topic', '=', topic).execute();
          await tx.updateTable('projection_checkpoint').set({ projection: projection.name })
            .where('projection', '=', target.checkpointName).where('topic', '=', topic).execute();
        }
      });
    } finally {
      for (const lock of held) await sql`SELECT RELEASE_LOCK(${lock})`.execute(connection);
    }
  });
  for (const p of projections) for (const t of p.tables) await sql`DROP TABLE IF EXISTS ${sql.table(`${t}__old`)}`.execute(db);
  report('done');
  return {
    projections: projections.map((p) => p.name), events: done, seconds: (Date.now() - started) / 1000,
    tables: projections.flatMap((p) => p.tables), swapped: true,
  };
}

/** The shadow tables and checkpoints a rebuild writes, kept from a stopped run only when they belong to this log. */
async function shadowRuns(deps: { db: Db; kafka: KafkaClient; topic: string }, projections: readonly Projection<unknown>[], asOf: Date | undefined): Promise<ProjectionRun[]> {
  const { db, kafka, topic } = deps;
  const runs: ProjectionRun[] = projections.map((projection) => ({
    projection,
    target: {
      checkpointName: `${projection.name}${asOf ? ASOF_SUFFIX : REBUILD_SUFFIX}`,
      tables: Object.fromEntries(projection.tables.map((t) => [t, shadowTable(t, Boolean(asOf))])),
      asOf,
    },
  }));
  const startOver = asOf !== undefined || (await assertFollowsLog(db, kafka, topic, runs.map((r) => r.target.checkpointName)).then(() => false, (error: unknown) => {
    if (error instanceof LogMismatchError) return true;
    throw error;
  }));
  for (const { projection, target } of runs) {
    if (startOver) await discard(db, target.checkpointName, Object.values(target.tables));
    for (const live of projection.tables) {
      await sql`CREATE TABLE IF NOT EXISTS ${sql.table(target.tables[live]!)} LIKE ${sql.table(live)}`.execute(db);
    }
  }
  return runs;
}

/**
 * Projections that are not rebuilt (the notifier's: its notices have been delivered) but followed another log
 * read this one from its start: each notice exists once, so nothing already raised is raised again. Answers
 * the ones that did.
 */
export async function followThisLog(db: Db, kafka: KafkaClient, topic: string, projections: readonly string[]): Promise<string[]> {
  const moved: string[] = [];
  for (const name of projections) {
    try {
      await assertFollowsLog(db, kafka, topic, [name]);
    } catch (error) {
      if (!(error instanceof LogMismatchError)) throw error;
      await db.deleteFrom('projection_checkpoint').where('projection', '=', name).where('topic', '=', topic).execute();
      moved.push(name);
    }
  }
  return moved;
}

async function discard(db: Db, checkpointName: string, tables: string[]): Promise<void> {
  for (const table of tables) await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  await db.deleteFrom('projection_checkpoint').where('projection', '=', checkpointName).execute();
}
