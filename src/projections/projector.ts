import { metrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { applyBatch, lowestPositions, type ProjectionRun } from './apply-batch.ts';
import { FollowedLog, LogMismatchError } from './followed-log.ts';

/**
 * A coupon's events share a partition, so batches of different partitions touch different rows and
 * checkpoints: while MySQL commits one, this process decodes the next.
 */
const PARTITIONS_AT_ONCE = 3;

/** A topic can be deleted and created again under a running consumer without a rebalance: checked this often too. */
const LOG_CHECK_EVERY_MS = 30_000;

/** Read models of another log are no loop to retry: the process ends as for a dead loop (crash-policy.ts), saying what fixes it. */
function fatal(error: LogMismatchError): never {
  queueMicrotask(() => {
    throw error;
  });
  throw error;
}

export interface RunningProjector {
  applied: number;
  stop(): Promise<void>;
}

/**
 * Keeps read models current: one consumer group reads the log once for all of them, and each batch is
 * applied to every projection in one transaction. Positions come from their MySQL checkpoints, which must
 * belong to this log: checked before it joins, at every assignment and every 30 s (LogMismatchError).
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
  const verify = () => followed.verify(db, names).catch((error: unknown) => {
    if (error instanceof LogMismatchError) fatal(error);
    throw error;
  });
  const consumer = await kafka.consume({
    groupId,
    topic,
    // A fetch waits up to 50 ms for 256 KiB: a few large transactions instead of one per trickle of events.
    minBytes: 256 * 1024,
    maxWaitMs: 50,
    concurrency: PARTITIONS_AT_ONCE,
    onAlive: () => runtime.liveness.moved(role),
    positionsFor: async (partitions) => {
      await verify();
      const stored = await lowestPositions(db, runs, topic);
      return new Map(partitions.map((p) => [p, stored.get(p) ?? 0n]));
    },
    eachBatch: async (batch, seek) => {
      const outcome = await applyBatch(db, runs, topic, batch.partition, batch.messages, await followed.partition(batch.partition)).catch((error: unknown) => {
        if (error instanceof LogMismatchError) fatal(error);
        throw error;
      });
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
  const checking = setInterval(() => void verify().catch((error: unknown) => log.warn({ err: error }, 'could not check which log the read models follow')), LOG_CHECK_EVERY_MS);
  checking.unref();
  return {
    get applied() {
      return state.applied;
    },
    stop: async () => {
      clearInterval(checking);
      await consumer.stop();
      runtime.liveness.stopped(role);
    },
  };
}
