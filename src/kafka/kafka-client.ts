import { createRequire } from 'node:module';
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
  /** Acks=all waits for this many copies; fewer live replicas refuse writes rather than risk a lone copy. */
  minInSyncReplicas: number;
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
  /** Partitions whose batches are handled at once (kafkajs's partitionsConsumedConcurrently); default one. */
  concurrency?: number;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

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

export interface ReadOptions {
  /** Bytes a fetch may bring back (one record batch larger than this still comes whole). */
  maxBytes?: number;
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
  private readerCluster?: Promise<KafkajsCluster>;
  private readonly producers = new Set<Producer>();
  private readonly consumers = new Set<Consumer>();

  private readonly settings: KafkaSettings;
  private readonly logger: Logger;

  constructor(settings: KafkaSettings, logger: Logger) {
    this.settings = settings;
    this.logger = logger;
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
      // Just after topics were deleted, or while a cluster's brokers learn of a new topic, the leader wait
      // can fail with a retriable error although the topic was created: what exists is not created again.
      await retried(async () => {
        const present = new Set(await admin.listTopics());
        const toCreate = missing.filter((s) => !present.has(s.topic));
        if (toCreate.length > 0) await this.createTopics(admin, toCreate);
      });
      // Created is not yet served: wait until every partition's leader answers for its offsets.
      for (const s of missing) await this.endOffsets(s.topic);
      for (const s of missing) this.logger.info({ topic: s.topic, partitions: s.partitions }, 'created topic');
    }
    for (const spec of specs) {
      const config = await this.topicConfig(spec.topic);
      const weaker: string[] = [];
      if (spec.keepForever && (config['retention.ms'] !== '-1' || config['retention.bytes'] !== '-1')) {
        weaker.push(`retention.ms=${config['retention.ms']} retention.bytes=${config['retention.bytes']} (the event log must be kept forever: set both to -1)`);
      }
      const replicas = Math.min(...(await retried(() => admin.fetchTopicMetadata({ topics: [spec.topic] }))).topics[0]!.partitions.map((p) => p.replicas.length));
      if (replicas < spec.replicationFactor) weaker.push(`replication factor ${replicas} (configured: ${spec.replicationFactor})`);
      if (Number(config['min.insync.replicas'] ?? 1) < spec.minInSyncReplicas) {
        weaker.push(`min.insync.replicas=${config['min.insync.replicas']} (configured: ${spec.minInSyncReplicas})`);
      }
      if (spec.replicationFactor > 1 && config['unclean.leader.election.enable'] === 'true') weaker.push('unclean.leader.election.enable=true');
      if (weaker.length > 0) throw new Error(`topic ${spec.topic} is weaker than configured: ${weaker.join('; ')}`);
    }
  }

  private async createTopics(admin: Admin, specs: TopicSpec[]): Promise<void> {
    await admin.createTopics({
      waitForLeaders: true,
      topics: specs.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: [
          ...(s.keepForever ? [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] : []),
          { name: 'cleanup.policy', value: 'delete' },
          { name: 'min.insync.replicas', value: String(s.minInSyncReplicas) },
          // A replica that fell behind must never become leader and silently drop acknowledged events.
          { name: 'unclean.leader.election.enable', value: 'false' },
        ],
      })),
    });
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

  /** Every consumer group the broker knows. */
  async groupIds(): Promise<string[]> {
    return (await (await this.adminClient()).listGroups()).groups.map((g) => g.groupId);
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

  /** The broker (node id) leading each partition now. */
  async partitionLeaders(topic: string): Promise<Map<number, number>> {
    const admin = await this.adminClient();
    const meta = await retried(() => admin.fetchTopicMetadata({ topics: [topic] }));
    return new Map((meta.topics[0]?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
  }

  /** The offset the next message appended to this partition will get (the high watermark). */
  async endOffset(topic: string, partition: number): Promise<bigint> {
    return (await this.endOffsets(topic)).get(partition) ?? 0n;
  }

  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.adminClient();
    return new Map((await retried(() => admin.fetchTopicOffsets(topic))).map((o) => [o.partition, BigInt(o.high)]));
  }

  /** Where each partition's oldest kept record is (the log start) and where it ends. */
  async offsetRanges(topic: string): Promise<Map<number, { start: bigint; end: bigint }>> {
    const admin = await this.adminClient();
    return new Map((await retried(() => admin.fetchTopicOffsets(topic))).map((o) => [o.partition, { start: BigInt(o.low), end: BigInt(o.high) }]));
  }

  /** The id a Kafka cluster got when it was formatted: a new or re-formatted cluster has another. */
  async clusterId(): Promise<string> {
    return (await retried(async () => (await this.adminClient()).describeCluster())).clusterId;
  }

  /** Every message of a partition in [from, the end as of now). */
  async readToEnd(topic: string, partition: number, from: bigint): Promise<ConsumedMessage[]> {
    const messages: ConsumedMessage[] = [];
    for await (const batch of this.read(topic, partition, from, await this.endOffset(topic, partition))) messages.push(...batch);
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
      const messages = batch.messages
        .filter((m) => BigInt(m.offset) < until)
        .map((m) => ({ topic, partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, timestamp: m.timestamp }));
      // Past the last raw record, not the last delivered one: control records and compacted gaps count too.
      const last = batch.rawMessages.reduce((max, m) => (BigInt(m.offset) > max ? BigInt(m.offset) : max), offset - 1n);
      offset = last + 1n;
      if (messages.length > 0) yield messages;
    }
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
  async producer(): Promise<{ append(topic: string, messages: LogMessage[]): Promise<Appended[]>; close(): Promise<void> }> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5 },
    });
    await producer.connect();
    this.producers.add(producer);
    const partitionCounts = new Map<string, number>();
    return {
      append: async (topic, messages) => {
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
        this.producers.delete(producer);
        await producer.disconnect();
      },
    };
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
      partitionsConsumedConcurrently: options.concurrency ?? 1,
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
   * now), calling `onBatch` in order within each partition, `concurrency` partitions at a time (default: one,
   * as the live projector applies them). For replays: audits, rebuilds, recovery. No consumer group is involved.
   */
  async scan(
    topic: string,
    onBatch: (batch: PartitionBatch) => Promise<void> | void,
    options: { from?: Map<number, bigint>; until?: Map<number, bigint>; partitions?: number[]; concurrency?: number } = {},
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
    await Promise.all([...this.producers].map((p) => p.disconnect()));
    await Promise.all([...this.consumers].map((c) => c.disconnect()));
    await Promise.all([this.disconnect(this.admin), this.disconnect(this.probeAdmin)]);
    await (await this.readerCluster?.catch(() => undefined))?.disconnect().catch(() => undefined);
    this.admin = this.probeAdmin = this.readerCluster = undefined;
  }
}
