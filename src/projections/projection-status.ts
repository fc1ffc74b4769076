import type Router from '@koa/router';
import { authenticate, requireAdmin } from '../auth/authenticate.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import type { Db } from '../db/database.ts';
import type { KafkaClient } from '../kafka/kafka-client.ts';
import { ALL_PROJECTIONS } from '../../projections/projections.ts';
import { REBUILD_SUFFIX } from './rebuild-names.ts';

export interface ProjectionStatus {
  name: string;
  /** Events in the log that the projection has not applied yet: end offsets minus checkpoints. */
  lag: number;
  lastEventAt: string | null;
  status: 'up-to-date' | 'catching-up' | 'rebuilding';
  deadLetters: number;
}

export async function projectionStatuses(db: Db, kafka: KafkaClient, topic: string): Promise<ProjectionStatus[]> {
  const ends = await kafka.endOffsets(topic);
  const checkpoints = await db.selectFrom('projection_checkpoint').selectAll().where('topic', '=', topic).execute();
  const dead = await db.selectFrom('projection_dead_letter').select(['projection', db.fn.countAll<number>().as('n')]).groupBy('projection').execute();
  return ALL_PROJECTIONS.map((projection) => {
    const mine = checkpoints.filter((c) => c.projection === projection.name);
    let lag = 0n;
    for (const [partition, end] of ends) {
      lag += end - BigInt(mine.find((c) => c.partition_no === partition)?.next_offset ?? 0);
    }
    const last = mine.map((c) => c.last_event_at).filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0];
    const rebuilding = checkpoints.some((c) => c.projection === `${projection.name}${REBUILD_SUFFIX}`);
    return {
      name: projection.name,
      lag: Number(lag),
      lastEventAt: last?.toISOString() ?? null,
      status: rebuilding ? 'rebuilding' : lag === 0n ? 'up-to-date' : 'catching-up',
      deadLetters: Number(dead.find((d) => d.projection === projection.name)?.n ?? 0),
    };
  });
}

export function projectionStatusRoute(router: Router, deps: { db: Db; kafka: KafkaClient; verify: TokenVerifier; topic: string }): void {
  router.get('/admin/projections', authenticate(deps.verify), requireAdmin, async (ctx) => {
    ctx.body = { items: await projectionStatuses(deps.db, deps.kafka, deps.topic) };
  });
}
