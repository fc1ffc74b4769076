import type { Db } from '../db/database.ts';
import type { Route } from '../http/route.ts';
import type { KafkaClient } from '../kafka/kafka-client.ts';
import { readLogIdentity } from '../kafka/log-identity.ts';
import { ALL_PROJECTIONS } from '../../projections/projections.ts';
import { problemsWith, REBUILD_COMMAND, type CheckpointRow } from './followed-log.ts';
import { REBUILD_SUFFIX } from './rebuild-names.ts';

export interface ProjectionStatus {
  name: string;
  /** Events in the log that the projection has not applied yet: end offsets minus checkpoints. */
  lag: number;
  lastEventAt: string | null;
  /** `other-log`: its checkpoints belong to another log than the topic on these brokers (`problem` says how, and what fixes it). */
  status: 'up-to-date' | 'catching-up' | 'rebuilding' | 'other-log';
  deadLetters: number;
  problem?: string;
}

type Checkpoint = CheckpointRow & { last_event_at: Date | null };

const checkpointsOf = (db: Db, topic: string): Promise<Checkpoint[]> =>
  db.selectFrom('projection_checkpoint').select(['projection', 'partition_no', 'next_offset', 'last_event_at', 'log_cluster_id', 'log_first_record'])
    .where('topic', '=', topic).execute();

/** Events of each partition that each projection has not applied yet: the end offset minus its checkpoint. */
export async function projectionLags(db: Db, kafka: KafkaClient, topic: string): Promise<{ projection: string; partition: number; lag: number }[]> {
  const [ends, checkpoints] = await Promise.all([kafka.endOffsets(topic), checkpointsOf(db, topic)]);
  return lagsOf(ends, checkpoints);
}

function lagsOf(ends: Map<number, bigint>, checkpoints: Checkpoint[]): { projection: string; partition: number; lag: number }[] {
  return ALL_PROJECTIONS.flatMap(({ name }) => [...ends].map(([partition, end]) => ({
    projection: name,
    partition,
    lag: Number(end - BigInt(checkpoints.find((c) => c.projection === name && c.partition_no === partition)?.next_offset ?? 0)),
  })));
}

export async function projectionStatuses(db: Db, kafka: KafkaClient, topic: string): Promise<ProjectionStatus[]> {
  // Checkpoints before the log: both only grow, so none read is past an end read after it unless it belongs to another log.
  const checkpoints = await checkpointsOf(db, topic);
  const log = await readLogIdentity(kafka, topic);
  const lags = lagsOf(new Map([...log.partitions].map(([partition, { end }]) => [partition, end])), checkpoints);
  const problems = problemsWith(checkpoints, log);
  const dead = await db.selectFrom('projection_dead_letter').select(['projection', db.fn.countAll<number>().as('n')]).groupBy('projection').execute();
  return ALL_PROJECTIONS.map((projection) => {
    const lag = lags.filter((l) => l.projection === projection.name).reduce((sum, l) => sum + l.lag, 0);
    const last = checkpoints.filter((c) => c.projection === projection.name).map((c) => c.last_event_at)
      .filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0];
    const rebuilding = checkpoints.some((c) => c.projection === `${projection.name}${REBUILD_SUFFIX}`);
    const problem = problems.find((p) => p.projection === projection.name);
    return {
      name: projection.name,
      lag,
      lastEventAt: last?.toISOString() ?? null,
      status: problem ? 'other-log' : rebuilding ? 'rebuilding' : lag === 0 ? 'up-to-date' : 'catching-up',
      deadLetters: Number(dead.find((d) => d.projection === projection.name)?.n ?? 0),
      ...(problem ? { problem: `partition ${problem.partition}: ${problem.reason}; ${REBUILD_COMMAND}` } : {}),
    };
  });
}

export const projectionStatusRoute = (deps: { db: Db; kafka: KafkaClient; topic: string }): Route => ({
  method: 'get', path: '/admin/projections', auth: 'admin', summary: 'Each read model: lag behind the log, last event time, status', tag: 'admin',
  answer: { status: 200, schema: { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } } } } },
  handler: async (ctx) => {
    ctx.body = { items: await projectionStatuses(deps.db, deps.kafka, deps.topic) };
  },
});
