import type { ResolvedConfig } from '../config/config.ts';
import type { TopicSpec } from './kafka-client.ts';

/** Every topic the platform needs, created on start. The event log is keyed by couponId and kept forever. */
export function eventLogTopics(config: Pick<ResolvedConfig, 'kafka'>): TopicSpec[] {
  return [
    {
      topic: config.kafka.topic,
      partitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
      minInSyncReplicas: config.kafka.minInSyncReplicas,
      keepForever: true,
    },
  ];
}
