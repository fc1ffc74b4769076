import { createHash } from 'node:crypto';
import type { ConsumedMessage, KafkaClient } from './kafka-client.ts';

/**
 * What tells one event log from another that has the same topic name: the Kafka cluster it lives in, and
 * each partition's first record. A topic deleted and created again, a new or restored Kafka cluster, or
 * another deployment's broker all differ in one of them, although offsets alone may look plausible.
 */
export interface LogIdentity {
  clusterId: string;
  partitions: Map<number, PartitionLog>;
}

export interface PartitionLog {
  start: bigint;
  end: bigint;
  /** A fingerprint of the record at `start`; null while the partition holds none. */
  firstRecord: string | null;
}

/** One record's fingerprint: its offset, time, key and value (each event's value carries its own id). */
export function fingerprint(message: Pick<ConsumedMessage, 'offset' | 'timestamp' | 'key' | 'value'>): string {
  return createHash('sha256').update(JSON.stringify([message.offset, message.timestamp, message.key, message.value])).digest('hex');
}

/** The fingerprint of a partition's first record, or null while it has none. */
export async function firstRecordOf(kafka: KafkaClient, topic: string, partition: number, start: bigint, end: bigint): Promise<string | null> {
  if (end <= start) return null;
  const first = (await kafka.firstMessages(topic, new Map([[partition, start]]))).get(partition);
  return first ? fingerprint(first) : null;
}

/** The log as it is now: its cluster, and every partition's range and first record. */
export async function readLogIdentity(kafka: KafkaClient, topic: string): Promise<LogIdentity> {
  const [clusterId, ranges] = await Promise.all([kafka.clusterId(), kafka.offsetRanges(topic)]);
  const holding = [...ranges].filter(([, { start, end }]) => end > start);
  const firsts = await kafka.firstMessages(topic, new Map(holding.map(([partition, { start }]) => [partition, start])));
  const partitions = new Map<number, PartitionLog>();
  for (const [partition, range] of ranges) {
    const first = firsts.get(partition);
    partitions.set(partition, { ...range, firstRecord: first ? fingerprint(first) : null });
  }
  return { clusterId, partitions };
}
