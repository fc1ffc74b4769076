import { metrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { applyBatch, lowestPositions, type ProjectionRun } from './apply-batch.ts';

/**
 * A coupon's events share a partition, so batches of different partitions touch different rows and
 * checkpoints: while MySQL commits one, this process decodes the next.
 */
const PARTITIONS_AT_ONCE = 3;

export interface RunningProjector {
  applied: number;
  stop(): Promise<void>;
}

/**
 * Keeps read models current: one consumer group reads the log once for all of them, and each batch is
 * applied to every projection in one transaction. Positions come from their MySQL checkpoints.
 */
export async function startProjector(runtime: Runtime, runs: readonly ProjectionRun[], role: 'projector' | 'notifier' = 'projector'): Promise<RunningProjector> {
  const { db, kafka, config } = runtime;
  const topic = config.kafka.topic;
  // Named after the topic too: two deployments sharing a broker must never share a group.
  const groupId = `${role}.${topic}`;
  const log = runtime.logger.child({ role: 'projector', groupId });
  const state = { applied: 0 };
  const consumer = await kafka.consume({
    groupId,
    topic,
    // A fetch waits up to 50 ms for 256 KiB: a few large transactions instead of one per trickle of events.
    minBytes: 256 * 1024,
    maxWaitMs: 50,
    concurrency: PARTITIONS_AT_ONCE,
    onAlive: () => runtime.liveness.moved(role),
    positionsFor: async (partitions) => {
      const stored = await lowestPositions(db, runs, topic);
      return new Map(partitions.map((p) => [p, stored.get(p) ?? 0n]));
    },
    eachBatch: async (batch, seek) => {
      const outcome = await applyBatch(db, runs, topic, batch.partition, batch.messages);
      if (outcome.kind === 'seek') {
        log.info({ partition: batch.partition, offset: String(outcome.offset) }, 'consumer ahead of checkpoint; seeking back');
        seek(outcome.offset);
      } else if (outcome.kind === 'applied') {
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
