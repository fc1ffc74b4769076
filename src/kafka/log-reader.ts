import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { ConsumedMessage, PartitionBatch } from './consumed-message.ts';
import { PLAIN, type MessageCodec } from '../privacy/personal-data.ts';

/**
 * kafkajs consumers always join a group. Readers of the log that only want a range of one partition
 * (history pages, restores, audits, rebuilds) fetch from the partition's leader directly with kafkajs's own
 * cluster and fetch request: no group is joined, so nothing is left behind on the broker and no rebalance
 * delays the first message. These are kafkajs internals, used here and nowhere else.
 */
interface KafkajsBroker {
  fetch(request: {
    maxWaitTime: number; minBytes: number; maxBytes: number; isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: unknown[] }[] }>;
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<KafkajsBroker>;
}
interface KafkajsBatch {
  highWatermark: string;
  messages: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string }[];
  rawMessages: { offset: string }[];
}
const KafkajsBatch = createRequire(import.meta.url)('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, partitionData: unknown) => KafkajsBatch;
const READ_COMMITTED = 1;
/** Errors after which the partition's leader may have moved: refresh metadata and ask again. */
const STALE_METADATA = new Set(['LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'UNKNOWN_TOPIC_OR_PARTITION']);

function clusterOf(kafka: Kafka): KafkajsCluster {
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!create) throw new Error('this kafkajs has no private:Kafka:createCluster; the group-less reader needs updating');
  return (kafka as unknown as Record<symbol, (options: object) => KafkajsCluster>)[create]!({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
}

function connectedCluster(kafka: Kafka): Promise<KafkajsCluster> {
  const cluster = clusterOf(kafka);
  return cluster.connect().then(() => cluster);
}

export interface ScanOptions {
  from?: Map<number, bigint>;
  until?: Map<number, bigint>;
  partitions?: number[];
  concurrency?: number;
}

export interface ReadOptions {
  /** Bytes a fetch may bring back (one record batch larger than this still comes whole). */
  maxBytes?: number;
}

/**
 * The group-less reader: ranges of partitions (history pages, restores, audits, rebuilds, log identity), each
 * read to the end it was given.
 */
export class LogReader {
  private readonly kafka: Kafka;
  private readonly endOffsets: (topic: string) => Promise<Map<number, bigint>>;
  private readerCluster?: Promise<KafkajsCluster>;

  /** How values are read: opened (../privacy/personal-data.ts) or as they are. */
  private readonly codec: MessageCodec;

  constructor(kafka: Kafka, endOffsets: (topic: string) => Promise<Map<number, bigint>>, codec: MessageCodec = PLAIN) {
    this.kafka = kafka;
    this.endOffsets = endOffsets;
    this.codec = codec;
  }

  /** Every message of a partition in [from, the end as of now). */
  async readToEnd(topic: string, partition: number, from: bigint): Promise<ConsumedMessage[]> {
    const messages: ConsumedMessage[] = [];
    for await (const batch of this.read(topic, partition, from, (await this.endOffsets(topic)).get(partition) ?? 0n)) messages.push(...batch);
    return messages;
  }

  private cluster(): Promise<KafkajsCluster> {
    if (!this.readerCluster) {
      this.readerCluster = connectedCluster(this.kafka);
      this.readerCluster.catch(() => (this.readerCluster = undefined));
    }
    return this.readerCluster;
  }

  /**
   * The messages of one partition in [from, until), a fetch at a time, without a consumer group; `until` is an
   * end the log answered, and every record below it is read (or an error thrown). Memory is one fetch
   * (`maxBytes`, default 1 MiB); stopping early (`break`) costs nothing more. A moved leader is looked up
   * again; any other failure is thrown.
   */
  read(topic: string, partition: number, from: bigint, until: bigint, options: ReadOptions = {}): AsyncGenerator<ConsumedMessage[]> {
    return this.readWith(() => this.cluster(), topic, partition, from, until, options);
  }

  /**
   * The message at (or first after) each given offset, read one partition after another on a connection of its
   * own that is closed after: callers check this now and then, beside other readers of the shared cluster, and
   * kafkajs leaks a socket when two fetches open one broker's connection at once.
   */
  async firstMessages(topic: string, from: Map<number, bigint>): Promise<Map<number, ConsumedMessage>> {
    const own = connectedCluster(this.kafka);
    try {
      const found = new Map<number, ConsumedMessage>();
      for (const [partition, offset] of from) {
        for await (const batch of this.readWith(() => own, topic, partition, offset, offset + 1n, { maxBytes: 64 * 1024 })) {
          if (batch[0]) found.set(partition, batch[0]);
          break;
        }
      }
      return found;
    } finally {
      await (await own.catch(() => undefined))?.disconnect().catch(() => undefined);
    }
  }

  private async *readWith(
    cluster: () => Promise<KafkajsCluster>, topic: string, partition: number, from: bigint, until: bigint, options: ReadOptions,
  ): AsyncGenerator<ConsumedMessage[]> {
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    let offset = from;
    let failures = 0;
    while (offset < until) {
      let batch: KafkajsBatch;
      try {
        const connected = await cluster();
        await connected.addTargetTopic(topic);
        const leader = Object.entries(connected.findLeaderForPartitions(topic, [partition]))[0]?.[0];
        if (leader === undefined) throw Object.assign(new Error(`no leader known for ${topic}/${partition}`), { type: 'LEADER_NOT_AVAILABLE' });
        const broker = await connected.findBroker({ nodeId: leader });
        const { responses } = await broker.fetch({
          maxWaitTime: 0, minBytes: 1, maxBytes, isolationLevel: READ_COMMITTED,
          topics: [{ topic, partitions: [{ partition, fetchOffset: offset.toString(), maxBytes }] }],
        });
        const data = responses.find((r) => r.topicName === topic)?.partitions[0];
        if (!data) throw Object.assign(new Error(`no answer for ${topic}/${partition}`), { type: 'LEADER_NOT_AVAILABLE' });
        batch = new KafkajsBatch(topic, offset.toString(), data);
        failures = 0;
      } catch (error) {
        const { type, retriable, name } = error as { type?: string; retriable?: boolean; name?: string };
        const stale = (type && STALE_METADATA.has(type)) || name === 'KafkaJSBrokerNotFound' || name === 'KafkaJSConnectionError' || retriable;
        if (!stale || ++failures > 30) throw error;
        await (await cluster().catch(() => undefined))?.refreshMetadata().catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * failures)));
        continue;
      }
      if (batch.rawMessages.length === 0) {
        // Below `until` the records were acknowledged, so they are there: a leader just elected answers below
        // the end another told us until its high watermark catches up (seen: reads around a broker restart
        // stopping at 36 of 121). Stopping here would read a log shorter than it is; wait for them instead.
        if (++failures > 60) throw new Error(`${topic}/${partition} answers no records at ${offset} below ${until} (its high watermark ${batch.highWatermark})`);
        await (await cluster().catch(() => undefined))?.refreshMetadata().catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.min(500, 50 * failures)));
        continue;
      }
      const read = batch.messages
        .filter((m) => BigInt(m.offset) < until)
        .map((m) => ({ topic, partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, timestamp: m.timestamp }));
      const values = await this.codec.open(read.map((m) => m.value));
      const messages = read.map((m, i) => ({ ...m, value: values[i]! }));
      // Past the last raw record, not the last delivered one: control records and compacted gaps count too.
      const last = batch.rawMessages.reduce((max, m) => (BigInt(m.offset) > max ? BigInt(m.offset) : max), offset - 1n);
      offset = last + 1n;
      if (messages.length > 0) yield messages;
    }
  }

  /**
   * Reads every partition from `from` (default: the start) up to `until` (default: the end offsets as of
   * now), calling `onBatch` in order within each partition, `concurrency` partitions at a time (default: one,
   * as the live projector applies them). For replays: audits, rebuilds, recovery. No consumer group is involved.
   */
  async scan(
    topic: string,
    onBatch: (batch: PartitionBatch) => Promise<void> | void,
    options: ScanOptions = {},
  ): Promise<Map<number, bigint>> {
    const until = options.until ?? (await this.endOffsets(topic));
    const wanted = (options.partitions ?? [...until.keys()]).filter((p) => (until.get(p) ?? 0n) > (options.from?.get(p) ?? 0n));
    const queue = [...wanted];
    const workers = Math.min(options.concurrency ?? 1, wanted.length);
    // One reader cluster per worker beyond the first: readers sharing one cluster at once left connections
    // nobody closed (the process did not exit), and each worker on its own cluster reads as a single one does.
    const own: Promise<KafkajsCluster>[] = [];
    const worker = async (index: number) => {
      let cluster = () => this.cluster();
      if (index > 0) {
        const mine = connectedCluster(this.kafka);
        own.push(mine);
        cluster = () => mine;
      }
      for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
        const end = until.get(partition)!;
        // The next fetch is under way while the caller handles this batch.
        const batches = this.readWith(cluster, topic, partition, options.from?.get(partition) ?? 0n, end, { maxBytes: 4 * 1024 * 1024 });
        let next = batches.next();
        try {
          for (let current = await next; !current.done; current = await next) {
            next = batches.next();
            await onBatch({ topic, partition, messages: current.value, highWatermark: end.toString() });
          }
        } finally {
          // A caller's failure leaves a fetch under way: its outcome is dropped, the reader closed.
          next.catch(() => undefined);
          await batches.return(undefined);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
    } finally {
      await Promise.all(own.map(async (c) => (await c.catch(() => undefined))?.disconnect().catch(() => undefined)));
    }
    return until;
  }

  async close(): Promise<void> {
    await (await this.readerCluster?.catch(() => undefined))?.disconnect().catch(() => undefined);
    this.readerCluster = undefined;
  }
}
