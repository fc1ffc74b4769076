import type { Projection } from '../../projections/projection.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { applyBatch, liveTarget, storedPositions, type ProjectionTarget } from './apply-batch.ts';

export interface RunningProjector {
  projection: string;
  applied: number;
  stop(): Promise<void>;
}

/** Keeps one projection's tables current: a consumer group of its own, positions from its MySQL checkpoints. */
export async function startProjector(
  runtime: Runtime,
  projection: Projection<unknown>,
  target: ProjectionTarget = liveTarget(projection),
  groupId = `projector.${projection.name}`,
): Promise<RunningProjector> {
  const { db, kafka, config } = runtime;
  const topic = config.kafka.topic;
  const log = runtime.logger.child({ projection: projection.name, checkpoint: target.checkpointName });
  const state = { applied: 0 };
  const consumer = await kafka.consume({
    groupId,
    topic,
    positionsFor: async (partitions) => {
      const stored = await storedPositions(db, target.checkpointName, topic);
      return new Map(partitions.map((p) => [p, stored.get(p) ?? 0n]));
    },
    eachBatch: async (batch, seek) => {
      const outcome = await applyBatch(db, projection, target, topic, batch.partition, batch.messages);
      if (outcome.kind === 'seek') {
        log.info({ partition: batch.partition, offset: String(outcome.offset) }, 'consumer ahead of checkpoint; seeking back');
        seek(outcome.offset);
      } else if (outcome.kind === 'applied') {
        state.applied += outcome.applied;
        if (outcome.deadLettered > 0) log.error({ partition: batch.partition, count: outcome.deadLettered }, 'events dead-lettered');
      }
    },
  });
  return {
    projection: projection.name,
    get applied() {
      return state.applied;
    },
    stop: () => consumer.stop(),
  };
}
