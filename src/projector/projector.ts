import { metrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { applyBatch, lowestPositions, type ProjectionRun } from './apply-batch.ts';
import { FollowedLog, LogMismatchError } from './followed-log.ts';

/**
 * A coupon's events share a partition, so batches of different partitions touch different rows and
 * checkpoints: while MySQL commits one, this process decodes the next.
 */
const PARTITIONS_AT_ONCE = 3;

/** Read models of another log are no loop to retry: the process ends as for a dead loop (crash-policy.ts), saying what fixes it. */
function raise(error: unknown): never {
  if (error instanceof LogMismatchError) {
    queueMicrotask(() => {
      throw error;
    });
  }
  throw error;
}

export interface RunningProjector {
  applied: number;
  stop(): Promise<void>;
}

/**
 * Keeps read models current: one consumer group reads the log once for all of them, and each batch is
 * applied to every projection in one transaction. Positions come from their MySQL checkpoints, which must
 * belong to this log: checked before it joins, at every assignment, and before a batch that starts below where
 * the partition was left (kafkajs moves a position the log does not have, as after a topic was deleted and created
 * again, to the log's start); a batch never extends a checkpoint recorded against another log (LogMismatchError).
 */
export async function startProjector(runtime: Runtime, runs: readonly ProjectionRun[], role: 'projector' | 'notifier' = 'projector'): Promise<RunningProjector> {
  const { db, kafka, config } = runtime;
  const topic = config.kafka.topic;
  // Named after the topic too: two deployments sharing a broker must never share a group.
  const groupId = `${role}.${topic}`;
  const log = runtime.logger.child({ role: 'projector', groupId });
  const state = { applied: 0 };
  const names = runs.map((r) => r.target.checkpointName);
  const followed = await FollowedLog.verified(db, kafka, topic, names);
  /** Where each partition's next batch should start: the checkpoints sought, then past each batch. */
  const next = new Map<number, bigint>();
  const consumer = await kafka.consume({
    groupId,
    topic,
    // A fetch waits up to 50 ms for 256 KiB: a few large transactions instead of one per trickle of events.
    minBytes: 256 * 1024,
    maxWaitMs: 50,
    concurrency: PARTITIONS_AT_ONCE,
    onAlive: () => runtime.liveness.moved(role),
    positionsFor: async (partitions) => {
      await followed.verify(db, names).catch(raise);
      const stored = await lowestPositions(db, runs, topic);
      const positions = new Map(partitions.map((p) => [p, stored.get(p) ?? 0n]));
      for (const [partition, offset] of positions) next.set(partition, offset);
      return positions;
    },
    eachBatch: async (batch, seek) => {
      if (BigInt(batch.messages[0]!.offset) < (next.get(batch.partition) ?? 0n)) await followed.verify(db, names).catch(raise);
      const outcome = await applyBatch(db, runs, topic, batch.partition, batch.messages, await followed.partition(batch.partition)).catch(raise);
      if (outcome.kind === 'seek') {
        log.info({ partition: batch.partition, offset: String(outcome.offset) }, 'consumer ahead of checkpoint; seeking back');
        next.set(batch.partition, outcome.offset);
        seek(outcome.offset);
        return;
      }
      next.set(batch.partition, BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n);
      if (outcome.kind === 'applied') {
        state.applied += outcome.applied;
        for (const p of outcome.byProjection) {
          metrics.projectorApplied.inc({ projection: p.projection }, p.applied);
          metrics.projectorDeadLetters.inc({ projection: p.projection }, p.deadLettered);
        }
        if (outcome.deadLettered > 0) log.error({ partition: batch.partition, count: outcome.deadLettered }, 'events dead-lettered');
      }
    },
  });
  return {
    get applied() {
      return state.applied;
    },
    stop: async () => {
      await consumer.stop();
      runtime.liveness.stopped(role);
    },
  };
}
