import type { Db } from '../db/database.ts';
import { retryOnDeadlock } from '../db/retry-deadlock.ts';
import type { KafkaClient } from '../kafka/kafka-client.ts';
import { firstRecordOf, readLogIdentity, type LogIdentity } from '../kafka/log-identity.ts';

/** What fixes read models built from another log: replay this one into them. */
export const REBUILD_COMMAND = 'npm run projections -- rebuild';

/** The log a checkpoint row is written against. */
export interface CheckpointLog {
  clusterId: string;
  firstRecord: string | null;
}

export interface LogProblem {
  projection: string;
  partition: number;
  reason: string;
}

export interface CheckpointRow {
  projection: string;
  partition_no: number;
  next_offset: string | number | bigint;
  log_cluster_id: string | null;
  log_first_record: string | null;
}

/**
 * Read models whose checkpoints belong to another log than the one configured (a topic created again, a new
 * Kafka cluster, another deployment's database): applying this log at those offsets, or restoring Redis from
 * them, would mix two histories. Nothing reads or extends them until they are rebuilt from this log.
 */
export class LogMismatchError extends Error {
  readonly topic: string;
  readonly problems: LogProblem[];

  constructor(topic: string, problems: LogProblem[]) {
    const projections = [...new Set(problems.map((p) => p.projection))];
    const shown = problems.slice(0, 3).map((p) => `${p.projection} partition ${p.partition}: ${p.reason}`);
    super(`the read models ${projections.join(', ')} were built from another log than topic ${topic} on these brokers ` +
      `(${shown.join('; ')}${problems.length > shown.length ? `; and ${problems.length - shown.length} more` : ''}). ` +
      `Rebuild them from this log: ${REBUILD_COMMAND}`);
    this.topic = topic;
    this.problems = problems;
    this.name = 'LogMismatchError';
  }
}

/**
 * How checkpoints disagree with the log. A checkpoint at offset 0 has applied nothing, so it fits any log; a
 * row from before identities were recorded (NULL) is judged by its offset alone.
 */
export function problemsWith(rows: readonly CheckpointRow[], log: LogIdentity): LogProblem[] {
  const problems: LogProblem[] = [];
  for (const row of rows) {
    const next = BigInt(row.next_offset);
    if (next === 0n) continue;
    const say = (reason: string) => problems.push({ projection: row.projection, partition: row.partition_no, reason });
    const partition = log.partitions.get(row.partition_no);
    if (!partition) say(`checkpoint at offset ${next} in a partition the log does not have (it has ${log.partitions.size})`);
    else if (next > partition.end) say(`checkpoint at offset ${next} is past the log's end (${partition.end})`);
    else {
      const foreign = identityProblem(row, { clusterId: log.clusterId, firstRecord: partition.firstRecord });
      if (foreign) say(foreign);
    }
  }
  return problems;
}

/** Checkpoints that have applied something and were recorded against another log than this partition's. */
export function foreignCheckpoints(rows: readonly CheckpointRow[], log: CheckpointLog): LogProblem[] {
  return rows.flatMap((row) => {
    const reason = BigInt(row.next_offset) > 0n ? identityProblem(row, log) : undefined;
    return reason ? [{ projection: row.projection, partition: row.partition_no, reason }] : [];
  });
}

function identityProblem(row: CheckpointRow, log: CheckpointLog): string | undefined {
  if (row.log_cluster_id !== null && row.log_cluster_id !== log.clusterId) return `written against Kafka cluster ${row.log_cluster_id}, the brokers are cluster ${log.clusterId}`;
  if (row.log_first_record !== null && row.log_first_record !== log.firstRecord) return "the log's first record is not the one the read model began with";
  return undefined;
}

export function checkpointRows(db: Db, topic: string, projections: readonly string[]): Promise<CheckpointRow[]> {
  return db.selectFrom('projection_checkpoint')
    .select(['projection', 'partition_no', 'next_offset', 'log_cluster_id', 'log_first_record'])
    .where('topic', '=', topic).where('projection', 'in', [...projections]).execute();
}

/** Throws LogMismatchError when these projections' checkpoints belong to another log; answers the log as read. */
export async function assertFollowsLog(db: Db, kafka: KafkaClient, topic: string, projections: readonly string[]): Promise<LogIdentity> {
  // Checkpoints first: both only grow, so the log's end read after them is at or past every one of them.
  const rows = await checkpointRows(db, topic, projections);
  const log = await readLogIdentity(kafka, topic);
  const problems = problemsWith(rows, log);
  if (problems.length > 0) throw new LogMismatchError(topic, problems);
  return log;
}

/**
 * The log a projector or rebuild follows, checked against its checkpoints. Checkpoints from before identities
 * were recorded take this log's (their offsets fit it); a partition empty at the check gets its first record's
 * fingerprint when its first batch comes.
 */
export class FollowedLog {
  private readonly kafka: KafkaClient;
  private readonly topic: string;
  private log: LogIdentity;

  private constructor(kafka: KafkaClient, topic: string, log: LogIdentity) {
    this.kafka = kafka;
    this.topic = topic;
    this.log = log;
  }

  static async verified(db: Db, kafka: KafkaClient, topic: string, projections: readonly string[]): Promise<FollowedLog> {
    const followed = new FollowedLog(kafka, topic, await assertFollowsLog(db, kafka, topic, projections));
    await followed.recordUnrecorded(db, projections);
    return followed;
  }

  /** Checks again (after a rebalance, or now and then): a topic can be deleted and created under a running consumer. */
  async verify(db: Db, projections: readonly string[]): Promise<void> {
    this.log = await assertFollowsLog(db, this.kafka, this.topic, projections);
  }

  /** What a checkpoint of this partition is written against. */
  async partition(partition: number): Promise<CheckpointLog> {
    const known = this.log.partitions.get(partition);
    if (known?.firstRecord) return { clusterId: this.log.clusterId, firstRecord: known.firstRecord };
    const range = (await this.kafka.offsetRanges(this.topic)).get(partition) ?? { start: 0n, end: 0n };
    const firstRecord = await firstRecordOf(this.kafka, this.topic, partition, range.start, range.end);
    this.log.partitions.set(partition, { ...range, firstRecord });
    return { clusterId: this.log.clusterId, firstRecord };
  }

  private async recordUnrecorded(db: Db, projections: readonly string[]): Promise<void> {
    for (const [partition, { firstRecord }] of this.log.partitions) {
      if (firstRecord === null) continue;
      await retryOnDeadlock(() => db.updateTable('projection_checkpoint').set({ log_cluster_id: this.log.clusterId, log_first_record: firstRecord })
        .where('topic', '=', this.topic).where('partition_no', '=', partition).where('projection', 'in', [...projections])
        .where((eb) => eb.or([eb('log_cluster_id', 'is', null), eb('log_first_record', 'is', null)]))
        .execute());
    }
  }
}
