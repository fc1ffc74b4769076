import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { PLAIN, type MessageCodec } from '../privacy/personal-data.ts';

export interface LogMessage {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface Appended {
  partition: number;
  offset: string;
}

export interface EventLogProducer {
  append(topic: string, messages: LogMessage[]): Promise<Appended[]>;
  close(): Promise<void>;
}

const keyPartitioner = Partitioners.DefaultPartitioner();

const MAX_SEND_BYTES = 512 * 1024;

function bySize(messages: LogMessage[], limit: number): LogMessage[][] {
  const pieces: LogMessage[][] = [];
  let piece: LogMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.key.length + message.value.length + 64;
    if (piece.length > 0 && bytes + size > limit) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
    }
    piece.push(message);
    bytes += size;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}

/** The partition a key's messages go to: the Java client's murmur2 mapping, as the producer uses it. */
export function partitionFor(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, partitionErrorCode: 0, leader: 0, replicas: [0], isr: [0] }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}

/** Opens the producers that append to the log, and closes whichever are still open when the client closes. */
export class KafkaProducers {
  private readonly kafka: Kafka;
  private readonly partitionCount: (topic: string) => Promise<number>;
  private readonly open = new Set<Producer>();

  /** How values are written: sealed (../privacy/personal-data.ts) or as they are. */
  private readonly codec: MessageCodec;

  constructor(kafka: Kafka, partitionCount: (topic: string) => Promise<number>, codec: MessageCodec = PLAIN) {
    this.kafka = kafka;
    this.partitionCount = partitionCount;
    this.codec = codec;
  }

  /**
   * An idempotent producer with acks from all in-sync replicas: a retried send never duplicates or reorders.
   *
   * Each partition's messages go in sends of their own, and each send must come back acknowledged for its
   * partition. kafkajs 2.2.4 remembers a send's answers per broker, not per partition: when a leader moves
   * mid-send, the partition that failed is mapped to its new leader on the retry, and if that broker already
   * answered for other partitions of the same send, the partition is never sent again while the send resolves
   * as acknowledged (reproduced here: acknowledged messages missing after a broker restart). One partition per
   * send gives the retry a broker with no answer yet; the check makes any other such silence an error, and the
   * caller sends again (consumers drop the copy by eventId).
   */
  async producer(): Promise<EventLogProducer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5 },
    });
    await producer.connect();
    this.open.add(producer);
    const partitionCounts = new Map<string, number>();
    return {
      append: async (topic, plain) => {
        const sealed = await this.codec.seal(plain.map((m) => m.value));
        const messages = plain.map((m, i) => ({ ...m, value: sealed[i]! }));
        if (!partitionCounts.has(topic)) partitionCounts.set(topic, await this.partitionCount(topic));
        const partitions = partitionCounts.get(topic)!;
        const byPartition = new Map<number, LogMessage[]>();
        for (const message of messages) {
          const partition = partitionFor(message.key, partitions);
          byPartition.set(partition, [...(byPartition.get(partition) ?? []), message]);
        }
        const appended = await Promise.all([...byPartition].map(async ([partition, own]) => {
          const done: Appended[] = [];
          // The broker refuses batches over max.message.bytes (1 MiB) without retry; pieces go in order.
          for (const piece of bySize(own, MAX_SEND_BYTES)) {
            const results = await producer.send({ topic, acks: -1, messages: piece.map((m) => ({ ...m, partition })) });
            const ack = results.find((r) => r.partition === partition && r.errorCode === 0);
            if (!ack) throw new Error(`the broker's answer did not acknowledge partition ${partition} of ${topic}: sent again`);
            done.push({ partition, offset: ack.baseOffset ?? '-1' });
          }
          return done;
        }));
        return appended.flat();
      },
      close: async () => {
        this.open.delete(producer);
        await producer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.open].map((p) => p.disconnect()));
  }
}
