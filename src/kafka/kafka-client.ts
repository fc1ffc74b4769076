import { AssignerProtocol, Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer, type logCreator } from 'kafkajs';
import type { Logger } from '../log/logger.ts';

/**
 * The one module that knows kafkajs. kafkajs has had no release since 2023; everything else in the
 * platform talks to the small interface below, so the client can be swapped without touching the domain.
 */

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Kept forever: the event log is the system of record. */
  keepForever: boolean;
}

export interface LogMessage {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface Appended {
  partition: number;
  offset: string;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  timestamp: string;
}

const toPinoLevel = (level: logLevel) =>
  level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug';

const logCreatorFor =
  (logger: Logger): logCreator =>
  () =>
  ({ level, log }) => {
    const { message, ...extra } = log;
    logger[toPinoLevel(level)]({ kafka: extra }, message);
  };

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** The partition's end as the broker saw it when it answered this fetch. */
  highWatermark: string;
}

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
}

export interface RunningConsumer {
  stop(): Promise<void>;
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

/**
 * Leadership moves (a topic just created, a broker restarted) make metadata briefly stale, and kafkajs's
 * admin does not always refresh and retry: an error kafkajs marks retriable is tried again for a while.
 */
async function retried<T>(what: () => Promise<T>, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await what();
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * attempt)));
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class KafkaClient {
  private readonly kafka: Kafka;
  /** Health probes get a client that never retries: a timed-out probe must not live on and reconnect later. */
  private readonly probeKafka: Kafka;
  /** One shared connection attempt per client, so callers polling during an outage never stack up connections. */
  private admin?: Promise<Admin>;
  private probeAdmin?: Promise<Admin>;
  private readonly producers = new Set<Producer>();
  private readonly consumers = new Set<Consumer>();

  constructor(
    private readonly settings: KafkaSettings,
    private readonly logger: Logger,
  ) {
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      logLevel: logLevel.WARN,
      logCreator: logCreatorFor(logger.child({ component: 'kafkajs' })),
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
    });
    this.probeKafka = new Kafka({
      clientId: `${settings.clientId}-probe`,
      brokers: settings.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 0 },
    });
  }

  private adminClient(): Promise<Admin> {
    this.admin ??= this.connectAdmin(this.kafka, () => (this.admin = undefined));
    return this.admin;
  }

  private connectAdmin(kafka: Kafka, forget: () => void): Promise<Admin> {
    const admin = kafka.admin();
    const connecting = admin.connect().then(() => admin);
    connecting.catch(forget);
    return connecting;
  }

  private async disconnect(admin: Promise<Admin> | undefined): Promise<void> {
    await (await admin?.catch(() => undefined))?.disconnect().catch(() => undefined);
  }

  /** Creates missing topics; refuses to run on an event log that is not kept forever. */
  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const admin = await this.adminClient();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor,
          configEntries: [
            ...(s.keepForever ? [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] : []),
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'min.insync.replicas', value: String(Math.min(2, s.replicationFactor)) },
          ],
        })),
      });
      // Created is not yet served: wait until every partition's leader answers for its offsets.
      for (const s of missing) await this.endOffsets(s.topic);
      for (const s of missing) this.logger.info({ topic: s.topic, partitions: s.partitions }, 'created topic');
    }
    for (const spec of specs.filter((s) => s.keepForever)) {
      const config = await this.topicConfig(spec.topic);
      if (config['retention.ms'] !== '-1' || config['retention.bytes'] !== '-1') {
        throw new Error(
          `topic ${spec.topic} has retention.ms=${config['retention.ms']} retention.bytes=${config['retention.bytes']}; ` +
            'the event log must be kept forever (set both to -1)',
        );
      }
    }
  }

  /** For tooling that owns its cluster (the test stack reset); waits until the broker has forgotten them. */
  async deleteTopics(topics: string[]): Promise<void> {
    const admin = await this.adminClient();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return;
    await admin.deleteTopics({ topics: present, timeout: 30_000 });
    for (let i = 0; i < 100; i++) {
      const left = new Set(await admin.listTopics());
      if (!present.some((t) => left.has(t))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`topics still present after delete: ${present.join(', ')}`);
  }

  async listTopics(): Promise<string[]> {
    return (await this.adminClient()).listTopics();
  }

  /** The members of a consumer group and the partitions each holds now. */
  async groupMembers(groupId: string): Promise<{ memberId: string; partitions: Record<string, number[]> }[]> {
    const { groups } = await (await this.adminClient()).describeGroups([groupId]);
    return (groups[0]?.members ?? []).map((m) => ({
      memberId: m.memberId,
      partitions: m.memberAssignment.length > 0 ? (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}) : {},
    }));
  }

  async topicExists(topic: string): Promise<boolean> {
    return (await (await this.adminClient()).listTopics()).includes(topic);
  }

  async topicConfig(topic: string): Promise<Record<string, string>> {
    const admin = await this.adminClient();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: topic }],
    });
    return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  }

  async partitionCount(topic: string): Promise<number> {
    const admin = await this.adminClient();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions.length ?? 0;
  }

  /** The offset the next message appended to this partition will get (the high watermark). */
  async endOffset(topic: string, partition: number): Promise<bigint> {
    return (await this.endOffsets(topic)).get(partition) ?? 0n;
  }

  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.adminClient();
    return new Map((await retried(() => admin.fetchTopicOffsets(topic))).map((o) => [o.partition, BigInt(o.high)]));
  }

  /** Every message of a partition in [from, the end as of now). */
  async readToEnd(topic: string, partition: number, from: bigint, timeoutMs: number): Promise<ConsumedMessage[]> {
    const end = await this.endOffset(topic, partition);
    if (end <= from) return [];
    return this.readPartition(topic, partition, String(from), (m) => BigInt(m.offset) >= end - 1n, timeoutMs);
  }

  /** Answers within the timeout or throws; a failed admin connection is dropped so the next ping starts clean. */
  async ping(timeoutMs: number): Promise<void> {
    const probe = (this.probeAdmin ??= this.connectAdmin(this.probeKafka, () => (this.probeAdmin = undefined)));
    try {
      const admin = await withTimeout(probe, timeoutMs, 'kafka connect');
      await withTimeout(admin.describeCluster(), timeoutMs, 'kafka describeCluster');
    } catch (error) {
      if (this.probeAdmin === probe) this.probeAdmin = undefined;
      void this.disconnect(probe);
      throw error;
    }
  }

  /** An idempotent producer with acks from all in-sync replicas: a retried send never duplicates or reorders. */
  async producer(): Promise<{ append(topic: string, messages: LogMessage[]): Promise<Appended[]>; close(): Promise<void> }> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5 },
    });
    await producer.connect();
    this.producers.add(producer);
    return {
      append: async (topic, messages) => {
        const appended: Appended[] = [];
        // A send becomes one record batch per partition, and the broker refuses batches over
        // max.message.bytes (1 MiB) without retry; pieces are sent in order, so ordering holds.
        for (const piece of bySize(messages, MAX_SEND_BYTES)) {
          const results = await producer.send({ topic, acks: -1, messages: piece });
          appended.push(...results.map((r) => ({ partition: r.partition, offset: r.baseOffset ?? '-1' })));
        }
        return appended;
      },
      close: async () => {
        this.producers.delete(producer);
        await producer.disconnect();
      },
    };
  }

  /**
   * Reads one partition from an offset with a throwaway consumer group, until `until` says stop.
   * For tools and tests that inspect the log; projectors use their own committed positions.
   */
  async readPartition(
    topic: string,
    partition: number,
    fromOffset: string,
    until: (message: ConsumedMessage) => boolean,
    timeoutMs: number,
  ): Promise<ConsumedMessage[]> {
    const consumer = this.kafka.consumer({ groupId: `reader-${process.pid}-${Date.now()}-${Math.random()}` });
    this.consumers.add(consumer);
    const seen: ConsumedMessage[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const done = new Promise<void>((resolveDone, failDone) => {
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition: p, message }) => {
            if (p !== partition) return;
            const consumed: ConsumedMessage = {
              topic,
              partition: p,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              timestamp: message.timestamp,
            };
            seen.push(consumed);
            if (until(consumed)) resolveDone();
          },
        }).catch(failDone);
      });
      consumer.seek({ topic, partition, offset: fromOffset });
      await withTimeout(done, timeoutMs, `reading ${topic}/${partition}`);
      return seen;
    } finally {
      this.consumers.delete(consumer);
      await consumer.disconnect();
    }
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
    this.consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
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
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        let sought = false;
        await options.eachBatch(
          {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: batch.highWatermark,
            messages: batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key?.toString() ?? null,
              value: m.value?.toString() ?? null,
              timestamp: m.timestamp,
            })),
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
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  /**
   * Reads every partition from `from` (default: the start) up to `until` (default: the end offsets as of
   * now), calling `onBatch` in order within each partition. For replays: audits, rebuilds, recovery.
   */
  async scan(
    topic: string,
    onBatch: (batch: PartitionBatch) => Promise<void> | void,
    options: { from?: Map<number, bigint>; until?: Map<number, bigint>; partitions?: number[]; timeoutMs?: number } = {},
  ): Promise<Map<number, bigint>> {
    const until = options.until ?? (await this.endOffsets(topic));
    const wanted = (options.partitions ?? [...until.keys()]).filter((p) => (until.get(p) ?? 0n) > (options.from?.get(p) ?? 0n));
    if (wanted.length === 0) return until;
    const remaining = new Set(wanted);
    let finish!: () => void;
    let fail!: (error: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const consumer = await this.consume({
      groupId: `scan-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      topic,
      positionsFor: async (partitions) => new Map(partitions.map((p) => [p, options.from?.get(p) ?? 0n])),
      eachBatch: async (batch) => {
        if (!remaining.has(batch.partition)) return;
        const end = until.get(batch.partition)!;
        const messages = batch.messages.filter((m) => BigInt(m.offset) < end && BigInt(m.offset) >= (options.from?.get(batch.partition) ?? 0n));
        try {
          if (messages.length > 0) await onBatch({ ...batch, messages });
        } catch (error) {
          fail(error);
          return;
        }
        if (BigInt(batch.messages[batch.messages.length - 1]!.offset) >= end - 1n) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    try {
      await withTimeout(done, options.timeoutMs ?? 600_000, `scanning ${topic}`);
    } finally {
      await consumer.stop();
    }
    return until;
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers].map((p) => p.disconnect()));
    await Promise.all([...this.consumers].map((c) => c.disconnect()));
    await Promise.all([this.disconnect(this.admin), this.disconnect(this.probeAdmin)]);
    this.admin = this.probeAdmin = undefined;
  }
}
