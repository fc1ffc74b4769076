import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECTIONS } from '../../projections/projections.ts';
import { auditPassed, runAudit } from '../../src/audit/run-audit.ts';
import { shardKeys } from '../../src/outbox/outbox.ts';
import { parseCouponEvent } from '../../src/events/coupon-events.ts';
import { logAndStores, type Runtime } from '../../src/runtime/runtime.ts';
import type { LoggedEvent } from './checker.ts';

/** Waits until every outbox is empty and every read model has reached the log's end; says what it last saw if not. */
export async function settle(runtime: Runtime, timeoutMs: number): Promise<string | undefined> {
  const { topic } = runtime.config.kafka;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let outbox = 0;
    for (let s = 0; s < runtime.config.admission.shards; s++) outbox += await runtime.redis.xlen(shardKeys(s).outbox);
    const ends = await runtime.kafka.endOffsets(topic);
    const checkpoints = await runtime.db.selectFrom('projection_checkpoint').selectAll().where('topic', '=', topic).execute();
    let lag = 0;
    for (const { name } of PROJECTIONS) {
      for (const [partition, end] of ends) {
        lag += Number(end - BigInt(checkpoints.find((c) => c.projection === name && c.partition_no === partition)?.next_offset ?? 0));
      }
    }
    if (outbox === 0 && lag === 0) return undefined;
    if (Date.now() > deadline) return `did not settle within ${timeoutMs / 1000} s: ${outbox} events in the outbox, read models ${lag} events behind`;
    await sleep(300);
  }
}

/** The whole log of the run's topic, copies included, in each partition's order; what cannot be read is said. */
export async function readLog(runtime: Runtime): Promise<{ log: LoggedEvent[]; unreadable: string[] }> {
  const log: LoggedEvent[] = [];
  const unreadable: string[] = [];
  await runtime.kafka.scan(runtime.config.kafka.topic, (batch) => {
    for (const m of batch.messages) {
      try {
        log.push({ partition: batch.partition, offset: m.offset, event: parseCouponEvent(JSON.parse(m.value ?? 'null')) });
      } catch (error) {
        unreadable.push(`partition ${batch.partition} offset ${m.offset}: ${(error as Error).message}`);
      }
    }
  });
  return { log, unreadable };
}

/** The audit (src/audit/) over the run's log, read models and Redis: each finding, or none. */
export async function audit(runtime: Runtime): Promise<{ findings: string[]; summary: string }> {
  const report = await runAudit(logAndStores(runtime));
  const findings = [...report.violations, ...report.readModelDifferences, ...report.redisDifferences];
  const summary = `audit ${auditPassed(report) ? 'passed' : 'FAILED'}: ${report.events} events, ${report.coupons} coupons, ${report.duplicates} copies`;
  return { findings, summary };
}
