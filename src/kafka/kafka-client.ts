import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../log/logger.ts';
import type { ConsumedMessage, PartitionBatch } from './consumed-message.ts';
import { KafkaAdmin, type TopicSpec } from './kafka-admin.ts';
import { KafkaConsumers, type ConsumeOptions, type RunningConsumer } from './kafka-consumer.ts';
import { KafkaProducers, type EventLogProducer } from './kafka-producer.ts';
import { logCreatorFor } from './kafkajs-log.ts';
import { LogReader, type ReadOptions, type ScanOptions } from './log-reader.ts';
import { PLAIN, type MessageCodec } from '../privacy/personal-data.ts';

export type { ConsumedMessage, PartitionBatch } from './consumed-message.ts';
export type { TopicSpec } from './kafka-admin.ts';
export type { ConsumeOptions, RunningConsumer } from './kafka-consumer.ts';
export { partitionFor, type Appended, type EventLogProducer, type LogMessage } from './kafka-producer.ts';
export type { ReadOptions, ScanOptions } from './log-reader.ts';

/**
 * src/kafka/ is the one place that knows kafkajs. kafkajs has had no release since 2023; everything else in
 * the platform talks to this small interface, so the client can be swapped without touching the domain.
 * Each job is a module of its own: topics and offsets (kafka-admin.ts), appending (kafka-producer.ts),
 * consumer groups (kafka-consumer.ts), and group-less reads of ranges (log-reader.ts).
 */

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
}

export class KafkaClient {
  private readonly admin: KafkaAdmin;
  private readonly producers: KafkaProducers;
  private readonly consumers: KafkaConsumers;
  private readonly reader: LogReader;

  /** `codec`: how event values are sealed as they are written and opened as they are read (crypto-shredding). */
  constructor(settings: KafkaSettings, logger: Logger, codec: MessageCodec = PLAIN) {
    const kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      logLevel: logLevel.WARN,
      logCreator: logCreatorFor(logger.child({ component: 'kafkajs' })),
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
    });
    const probeKafka = new Kafka({
      clientId: `${settings.clientId}-probe`,
      brokers: settings.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 0 },
    });
    this.admin = new KafkaAdmin(kafka, probeKafka, logger);
    this.producers = new KafkaProducers(kafka, (topic) => this.admin.partitionCount(topic), codec);
    this.consumers = new KafkaConsumers(kafka, logger, codec);
    this.reader = new LogReader(kafka, (topic) => this.admin.endOffsets(topic), codec);
  }

  /** Creates missing topics; refuses to run on an event log that is not kept forever. */
  ensureTopics(specs: TopicSpec[]): Promise<void> {
    return this.admin.ensureTopics(specs);
  }

  /** For tooling that owns its cluster (the test stack reset); waits until the broker has forgotten them. */
  deleteTopics(topics: string[]): Promise<void> {
    return this.admin.deleteTopics(topics);
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  topicExists(topic: string): Promise<boolean> {
    return this.admin.topicExists(topic);
  }

  topicConfig(topic: string): Promise<Record<string, string>> {
    return this.admin.topicConfig(topic);
  }

  partitionCount(topic: string): Promise<number> {
    return this.admin.partitionCount(topic);
  }

  /** The broker (node id) leading each partition now. */
  partitionLeaders(topic: string): Promise<Map<number, number>> {
    return this.admin.partitionLeaders(topic);
  }

  /** The offset the next message appended to this partition will get (the high watermark). */
  endOffset(topic: string, partition: number): Promise<bigint> {
    return this.admin.endOffset(topic, partition);
  }

  endOffsets(topic: string): Promise<Map<number, bigint>> {
    return this.admin.endOffsets(topic);
  }

  /** Where each partition's oldest kept record is (the log start) and where it ends. */
  offsetRanges(topic: string): Promise<Map<number, { start: bigint; end: bigint }>> {
    return this.admin.offsetRanges(topic);
  }

  /** The id a Kafka cluster got when it was formatted: a new or re-formatted cluster has another. */
  clusterId(): Promise<string> {
    return this.admin.clusterId();
  }

  /** Every consumer group the broker knows. */
  groupIds(): Promise<string[]> {
    return this.admin.groupIds();
  }

  /** The members of a consumer group and the partitions each holds now. */
  groupMembers(groupId: string): Promise<{ memberId: string; partitions: Record<string, number[]> }[]> {
    return this.admin.groupMembers(groupId);
  }

  /** Answers within the timeout or throws; a failed admin connection is dropped so the next ping starts clean. */
  ping(timeoutMs: number): Promise<void> {
    return this.admin.ping(timeoutMs);
  }

  /** An idempotent producer (see kafka-producer.ts for why each partition goes in sends of its own). */
  producer(): Promise<EventLogProducer> {
    return this.producers.producer();
  }

  /** A consumer group member that starts each assigned partition where the caller's own store says. */
  consume(options: ConsumeOptions): Promise<RunningConsumer> {
    return this.consumers.consume(options);
  }

  /** Every message of a partition in [from, the end as of now). */
  readToEnd(topic: string, partition: number, from: bigint): Promise<ConsumedMessage[]> {
    return this.reader.readToEnd(topic, partition, from);
  }

  /** The messages of one partition in [from, until), a fetch at a time; every record below `until` is read. */
  read(topic: string, partition: number, from: bigint, until: bigint, options: ReadOptions = {}): AsyncGenerator<ConsumedMessage[]> {
    return this.reader.read(topic, partition, from, until, options);
  }

  /** The message at (or first after) each given offset, on a connection of its own closed after. */
  firstMessages(topic: string, from: Map<number, bigint>): Promise<Map<number, ConsumedMessage>> {
    return this.reader.firstMessages(topic, from);
  }

  /** Reads every partition in [from, until) without a consumer group: audits, rebuilds, recovery. */
  scan(
    topic: string,
    onBatch: (batch: PartitionBatch) => Promise<void> | void,
    options: ScanOptions = {},
  ): Promise<Map<number, bigint>> {
    return this.reader.scan(topic, onBatch, options);
  }

  async close(): Promise<void> {
    await this.producers.close();
    await this.consumers.close();
    await this.admin.close();
    await this.reader.close();
  }
}
