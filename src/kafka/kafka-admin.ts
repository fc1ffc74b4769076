import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import type { Logger } from '../log/logger.ts';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Acks=all waits for this many copies; fewer live replicas refuse writes rather than risk a lone copy. */
  minInSyncReplicas: number;
  /** Kept forever: the event log is the system of record. */
  keepForever: boolean;
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

/** Topics, their offsets and leaders, consumer groups, the cluster's id, and the health probe. */
export class KafkaAdmin {
  private readonly kafka: Kafka;
  /** Health probes get a client that never retries: a timed-out probe must not live on and reconnect later. */
  private readonly probeKafka: Kafka;
  /** One shared connection attempt per client, so callers polling during an outage never stack up connections. */
  private admin?: Promise<Admin>;
  private probeAdmin?: Promise<Admin>;
  private readonly logger: Logger;

  constructor(kafka: Kafka, probeKafka: Kafka, logger: Logger) {
    this.kafka = kafka;
    this.probeKafka = probeKafka;
    this.logger = logger;
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

  async close(): Promise<void> {
    await Promise.all([this.disconnect(this.admin), this.disconnect(this.probeAdmin)]);
    this.admin = this.probeAdmin = undefined;
  }
}
