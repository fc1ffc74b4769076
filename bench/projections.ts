/**
 * `npm run bench:projections`: how fast the read models are built from the log. Writes N events
 * (default 1,000,000) to a topic of its own, then times the live projector from zero to lag 0 and a
 * full rebuild, both for every projection. Its own topic and database, so tests and dev data are untouched.
 */
import '../src/runtime/pinned-node.ts';
import { PROJECTIONS } from '../projections/projections.ts';
import { loadConfig } from '../src/config/config.ts';
import { issuedCouponId, uuidv7 } from '../src/ids/ids.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { recreateDatabase } from '../src/db/recreate-database.ts';
import type { CouponEvent } from '../src/events/coupon-events.ts';
import { eventLogTopics } from '../src/kafka/topics.ts';
import { createLogger } from '../src/log/logger.ts';
import { projectionStatuses } from '../src/projector/projection-status.ts';
import { startProjector } from '../src/projector/projector.ts';
import { rebuildProjections } from '../src/projector/rebuild.ts';
import { liveRun } from '../src/projector/apply-batch.ts';
import { closeRuntime, openRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { ensureLocalStack } from '../src/stack/local-stack.ts';

export interface ProjectionBench {
  events: number;
  projectorEps: number;
  rebuildEps: number;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Appends `events` synthetic events (coupons of 10,000 issues each, in admission order) to `topic`, as the
 * relay would have; returns how many were written.
 */
export async function writeSyntheticLog(runtime: Runtime, topic: string, events: number, perCoupon = 10_000): Promise<number> {
  const producer = await runtime.kafka.producer();
  // In the past, so an audit compares them with Redis state read now.
  const start = Date.parse('2026-01-01T00:00:00Z');
  let written = 0;
  for (let c = 0; written < events; c++) {
    const couponId = uuidv7(start + c);
    const validity = { validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2027-01-01T00:00:00.000Z' };
    const batch: CouponEvent[] = [{
      eventId: uuidv7(), type: 'CouponCreated', version: 1, couponId, occurredAt: new Date(start).toISOString(), meta: {},
      data: { name: `Bench ${c}`, totalQuantity: perCoupon, discount: { type: 'PERCENT', value: 10 },
        issueStartAt: '2026-01-01T00:00:00.000Z', issueEndAt: '2026-12-31T00:00:00.000Z', ...validity },
    }];
    for (let s = 1; s < perCoupon && written + batch.length < events; s++) {
      batch.push({
        eventId: uuidv7(), type: 'CouponIssued', version: 1, couponId, occurredAt: new Date(start + s).toISOString(), meta: {},
        data: { issuedCouponId: issuedCouponId(couponId, s), userId: `user-${s}`, ...validity },
      });
    }
    for (let i = 0; i < batch.length; i += 5_000) {
      await producer.append(topic, batch.slice(i, i + 5_000).map((e) => ({ key: e.couponId, value: JSON.stringify(e) })));
    }
    written += batch.length;
  }
  await producer.close();
  return written;
}

/** The test stack (or configured endpoints) with a database, Redis database and topic of the bench's own. */
export async function openBenchRuntime(database: string, topic: string, redisDb = 0): Promise<{ runtime: Runtime; env: Record<string, string> }> {
  const base = loadConfig();
  const endpoints = base.redisUrl && base.mysqlUrl && base.kafka.brokers
    ? { redisUrl: base.redisUrl, mysqlUrl: base.mysqlUrl, kafkaBrokers: base.kafka.brokers }
    : await ensureLocalStack(base.stackDir, 'test', (l) => say(`stack: ${l}`));
  const redisUrl = new URL(endpoints.redisUrl);
  redisUrl.pathname = `/${redisDb}`;
  const env = {
    REDIS_URL: redisUrl.toString(), MYSQL_URL: await recreateDatabase(endpoints.mysqlUrl, database), KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC: topic, JWT_SECRET: 'bench-secret-that-is-at-least-32-characters-long',
  };
  const config = loadConfig({ ...process.env, ...env }) as Parameters<typeof openRuntime>[0];
  const runtime = await openRuntime(config, createLogger('warn', 'bench'));
  await migrateToLatest(runtime.db);
  await runtime.kafka.deleteTopics([topic]);
  await runtime.kafka.ensureTopics(eventLogTopics(config));
  return { runtime, env };
}

/** Runs the live projector until every read model has applied the whole log; returns the seconds it took. */
export async function projectToEnd(runtime: Runtime): Promise<number> {
  const started = Date.now();
  const projector = await startProjector(runtime, PROJECTIONS.map(liveRun));
  for (;;) {
    const statuses = await projectionStatuses(runtime.db, runtime.kafka, runtime.config.kafka.topic);
    if (statuses.filter((s) => PROJECTIONS.some((p) => p.name === s.name)).every((s) => s.lag === 0)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await projector.stop();
  return (Date.now() - started) / 1000;
}

export async function benchProjections(events = Number(process.env.BENCH_EVENTS ?? 1_000_000)): Promise<ProjectionBench> {
  const { runtime } = await openBenchRuntime('coupon_bench', 'bench.coupon.events');
  const topic = runtime.config.kafka.topic;
  try {
    say(`writing ${events.toLocaleString('en')} events to ${topic}`);
    const written = await writeSyntheticLog(runtime, topic, events);

    say('live projector: from zero to lag 0');
    const projectorSeconds = await projectToEnd(runtime);

    say('rebuild: every projection, from the log, swapped in');
    const rebuildStarted = Date.now();
    await rebuildProjections({ db: runtime.db, kafka: runtime.kafka, topic }, PROJECTIONS);
    const rebuildSeconds = (Date.now() - rebuildStarted) / 1000;
    return { events: written, projectorEps: Math.round(written / projectorSeconds), rebuildEps: Math.round(written / rebuildSeconds) };
  } finally {
    await runtime.kafka.deleteTopics([topic]).catch(() => undefined);
    await closeRuntime(runtime);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchProjections();
  say(`events=${result.events} projector_eps=${result.projectorEps} rebuild_eps=${result.rebuildEps}`);
}
