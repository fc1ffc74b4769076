import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../log/logger.ts';
import type { ConsumedMessage, PartitionBatch } from './consumed-message.ts';
import { PLAIN, type MessageCodec } from '../privacy/personal-data.ts';

export interface ConsumeOptions {
  groupId: string;
  topic: string;
  /** Where each newly assigned partition should be read from (the consumer's own stored positions). */
  positionsFor(partitions: number[]): Promise<Map<number, bigint>>;
  /** Handles one partition's batch; when it resolves, the batch counts as done. */
  eachBatch(batch: PartitionBatch, seek: (offset: bigint) => void): Promise<void>;
  maxBytesPerPartition?: number;
  /** Called on every fetch and after every batch: the consumer's loop is moving. */
  onAlive?: () => void;
  /** Let the broker wait until this much is there (or `maxWaitMs` passed): fewer, larger batches under steady load. */
  minBytes?: number;
  maxWaitMs?: number;
  /** Partitions whose batches are handled at once (kafkajs's partitionsConsumedConcurrently); default one. */
  concurrency?: number;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

/** Consumer group members: the live readers of the log (projectors, the notifier). */
export class KafkaConsumers {
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly running = new Set<Consumer>();

  /** How values are read: opened (../privacy/personal-data.ts) or as they are. */
  private readonly codec: MessageCodec;

  constructor(kafka: Kafka, logger: Logger, codec: MessageCodec = PLAIN) {
    this.kafka = kafka;
    this.logger = logger;
    this.codec = codec;
  }

  private async opened(messages: ConsumedMessage[]): Promise<ConsumedMessage[]> {
    const values = await this.codec.open(messages.map((m) => m.value));
    return messages.map((m, i) => ({ ...m, value: values[i]! }));
  }

  /**
   * A consumer group member that reads in batches and starts each assigned partition where the caller's
   * own store says (the projectors keep their positions in MySQL with their rows; Kafka's committed
   * offsets are only a hint).
   */
  async consume(options: ConsumeOptions): Promise<RunningConsumer> {
    const { topic } = options;
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      minBytes: options.minBytes ?? 1,
      maxWaitTimeInMs: options.maxWaitMs ?? 100,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    this.running.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    this.follow(consumer, options);
    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        let sought = false;
        await options.eachBatch(
          {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: batch.highWatermark,
            messages: await this.opened(batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key?.toString() ?? null,
              value: m.value?.toString() ?? null,
              timestamp: m.timestamp,
            }))),
          },
          (offset) => {
            sought = true;
            consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(offset) });
          },
        );
        options.onAlive?.();
        if (sought) return;
        resolveOffset(batch.lastOffset());
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
    return {
      stop: async () => {
        this.running.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  /** Keeps the caller's loop seen alive, re-seeks on every assignment, and raises a consumer that stopped for good. */
  private follow(consumer: Consumer, options: ConsumeOptions): void {
    const { topic } = options;
    if (options.onAlive) consumer.on(consumer.events.FETCH_START, options.onAlive);
    // kafkajs restarts a consumer after a retriable crash; after any other it stops for good and the role
    // would sit there dead. That is raised where the process-wide policy sees it and exits.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.logger.warn({ err: payload.error, groupId: options.groupId }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      queueMicrotask(() => {
        throw new Error(`consumer of group ${options.groupId} stopped for good: ${payload.error.message}`, { cause: payload.error });
      });
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = (payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
      void options
        .positionsFor(partitions)
        .then((positions) => {
          for (const [partition, offset] of positions) consumer.seek({ topic, partition, offset: String(offset) });
        })
        .catch((error: unknown) => this.logger.warn({ err: error, groupId: options.groupId }, 'could not seek to stored positions'));
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.running].map((c) => c.disconnect()));
  }
}
