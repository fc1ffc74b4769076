import { sql } from 'kysely';
import { parseCouponEvent } from '../events/coupon-events.ts';
import { partitionFor } from '../kafka/kafka-client.ts';
import type { RebuildProgress } from '../projector/rebuild.ts';
import type { LogAndStores } from '../runtime/runtime.ts';
import { HistoryAuditor, type ReplayedCoupon } from './history-auditor.ts';
import { redemptionsOf } from './redemptions-of.ts';
import { issuedCouponId, parseIssuedCouponId } from '../ids/ids.ts';
import { inUse, settingRevision, type Redemption } from '../coupons/rules/coupon-rules.ts';
import { outboxEvents } from '../outbox/outbox.ts';
import { redisCouponIds, redisSnapshot, type RedisCoupon } from './snapshots.ts';
import type { Db } from '../db/database.ts';

export interface AuditReport {
  events: number;
  duplicates: number;
  coupons: number;
  violations: string[];
  readModelDifferences: string[];
  redisDifferences: string[];
}

export const auditPassed = (r: AuditReport) => r.violations.length + r.readModelDifferences.length + r.redisDifferences.length === 0;

type Connection = Parameters<Parameters<ReturnType<Db['connection']>['execute']>[0]>[0];

/**
 * Reads the log once, partition by partition, checks every invariant, and reconciles the read models and
 * the Redis admission state with it. Memory holds one partition's coupons (a coupon's events all live in
 * its partition). Each side is compared with exactly the events it had seen: MySQL (one consistent
 * snapshot opened first) at the moment the scan passes its checkpoint, each Redis coupon (read before its
 * partition's end is fixed) at its first event after the instant it was read.
 */
export async function runAudit(deps: LogAndStores, couponId?: string, onProgress?: (p: RebuildProgress) => void): Promise<AuditReport> {
  const report: AuditReport = { events: 0, duplicates: 0, coupons: 0, violations: [], readModelDifferences: [], redisDifferences: [] };
  const ends = await deps.kafka.endOffsets(deps.topic);
  const partitions = couponId ? [partitionFor(couponId, deps.partitions)] : [...ends.keys()];
  const inScope = (id: string, partition: number) => (couponId ? id === couponId : partitionFor(id, deps.partitions) === partition);
  const redisIds = couponId ? [couponId] : await redisCouponIds(deps.redis);
  const started = Date.now();
  const total = partitions.reduce((sum, p) => sum + Number(ends.get(p) ?? 0n), 0);
  let done = 0;
  const progress = (phase: RebuildProgress['phase'], read = 0) => {
    done += read;
    onProgress?.({ done, total, phase, eventsPerSecond: done / Math.max(0.001, (Date.now() - started) / 1000) });
  };

  await deps.db.connection().execute(async (connection) => {
    await sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`.execute(connection);
    await sql`START TRANSACTION WITH CONSISTENT SNAPSHOT`.execute(connection);
    try {
      const checkpoints = await connection.selectFrom('projection_checkpoint').selectAll().where('topic', '=', deps.topic).execute();
      const checkpointOf = (projection: string, partition: number) =>
        BigInt(checkpoints.find((c) => c.projection === projection && c.partition_no === partition)?.next_offset ?? 0);
      let couponRows = connection.selectFrom('coupon').select(['id', 'issued_count', 'used_count', 'cancelled_count', 'revoked_count', 'status']);
      if (couponId) couponRows = couponRows.where('id', '=', couponId);
      const mysqlCoupons = await couponRows.execute();
      for (const partition of partitions) {
        const scope = {
          partition, couponId, redisIds: redisIds.filter((id) => inScope(id, partition)), rows: mysqlCoupons.filter((r) => inScope(r.id, partition)),
          checkpoints: { coupon: checkpointOf('coupon', partition), issued: checkpointOf('issued_coupon', partition) },
          inScope: (id: string) => inScope(id, partition),
        };
        await auditPartition(deps, connection, scope, report, (read) => progress('replaying', read));
      }
    } finally {
      await sql`COMMIT`.execute(connection);
    }
  });
  progress('done');
  return report;
}

type CouponRow = { id: string; issued_count: number; used_count: number; cancelled_count: number; revoked_count: number; status: string };
interface PartitionScope {
  partition: number;
  couponId?: string;
  redisIds: string[];
  rows: CouponRow[];
  checkpoints: { coupon: bigint; issued: bigint };
  inScope: (couponId: string) => boolean;
}

/** One partition's part of the audit: its events replayed and checked, MySQL and Redis compared where each stood. */
async function auditPartition(deps: LogAndStores, connection: Connection, scope: PartitionScope, report: AuditReport, onRead: (events: number) => void): Promise<void> {
  const { partition } = scope;
  const redis = await redisSnapshot(deps.redis, deps.shards, scope.redisIds);
  const pending = (await outboxEvents(deps.redis, deps.shards)).filter((e) => scope.inScope(e.couponId));
  const end = await deps.kafka.endOffset(deps.topic, partition);
  const fold = new HistoryAuditor();
  const comparedWithRedis = new Set<string>();
  const compareRedis = (c: ReplayedCoupon) => {
    if (comparedWithRedis.has(c.couponId)) return;
    comparedWithRedis.add(c.couponId);
    report.redisDifferences.push(...redisDifferences(c, redis.get(c.couponId)));
  };
  let couponsCompared = false;
  let issuedCompared = false;
  /** Compares what MySQL holds once the scan reaches its checkpoint, or, with `atEnd`, after everything was read. */
  const compareMysqlBefore = async (offset: bigint, atEnd = false) => {
    if (!couponsCompared && (atEnd || offset >= scope.checkpoints.coupon)) {
      couponsCompared = true;
      report.readModelDifferences.push(...couponRowDifferences(fold, scope.rows));
    }
    if (!issuedCompared && (atEnd || offset >= scope.checkpoints.issued)) {
      issuedCompared = true;
      report.readModelDifferences.push(...(await issuedRowDifferences(connection, fold, scope.rows.map((r) => r.id))));
    }
  };

  await deps.kafka.scan(deps.topic, async (batch) => {
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      await compareMysqlBefore(offset);
      if (scope.couponId && message.key !== scope.couponId) continue;
      let event;
      try {
        event = parseCouponEvent(JSON.parse(message.value ?? 'null'));
      } catch (error) {
        report.violations.push(`unreadable event at partition ${partition} offset ${offset}: ${(error as Error).message}`);
        continue;
      }
      const seenAt = redis.get(event.couponId)?.at;
      const coupon = fold.coupons.get(event.couponId);
      if (coupon && seenAt && new Date(event.occurredAt) > seenAt) compareRedis(coupon);
      fold.add(event);
    }
    onRead(batch.messages.length);
  }, { partitions: [partition], until: new Map([[partition, end]]) });
  await compareMysqlBefore(end, true);

  // What Redis had admitted and the relay had not moved yet when the log was read.
  for (const event of pending) {
    const seenAt = redis.get(event.couponId)?.at;
    if (!comparedWithRedis.has(event.couponId) && (!seenAt || new Date(event.occurredAt) <= seenAt)) fold.add(event);
  }
  for (const c of fold.coupons.values()) if (c.definition) compareRedis(c);
  for (const id of redis.keys()) if (!fold.coupons.get(id)?.definition) report.redisDifferences.push(`coupon ${id}: in Redis, not in the log`);

  report.events += fold.events;
  report.duplicates += fold.duplicates;
  report.coupons += fold.coupons.size;
  report.violations.push(...fold.violations);
}

function couponRowDifferences(log: HistoryAuditor, rows: CouponRow[]): string[] {
  const out: string[] = [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const c of log.coupons.values()) {
    if (!c.definition) continue;
    const row = byId.get(c.couponId);
    if (!row) {
      out.push(`coupon ${c.couponId}: in the log, no row`);
      continue;
    }
    if (row.issued_count !== c.issued.size) out.push(`coupon ${c.couponId}: issued_count ${row.issued_count}, the log says ${c.issued.size}`);
    const rowInUse = inUse({ usedCount: row.used_count, cancelledCount: row.cancelled_count });
    const [used, revoked] = [redemptionsOf(c, 'USED').size, redemptionsOf(c, 'REVOKED').size];
    if (rowInUse !== used) out.push(`coupon ${c.couponId}: ${rowInUse} in use (used_count ${row.used_count}, cancelled_count ${row.cancelled_count}), the log says ${used}`);
    if (row.revoked_count !== revoked) out.push(`coupon ${c.couponId}: revoked_count ${row.revoked_count}, the log says ${revoked}`);
    if ((row.status === 'CLOSED') !== Boolean(c.closedAt)) out.push(`coupon ${c.couponId}: status ${row.status}, the log says ${c.closedAt ? 'CLOSED' : 'ACTIVE'}`);
  }
  for (const id of byId.keys()) if (!log.coupons.get(id)?.definition) out.push(`coupon ${id}: a row with no CouponCreated before the checkpoint`);
  return out;
}

/** Compares each coupon's issued_coupon rows page by page with what the log had issued before the checkpoint. */
async function issuedRowDifferences(connection: Connection, log: HistoryAuditor, couponIds: string[]): Promise<string[]> {
  const out: string[] = [];
  const ids = new Set([...couponIds, ...[...log.coupons.values()].filter((c) => c.definition).map((c) => c.couponId)]);
  for (const couponId of ids) {
    const c = log.coupons.get(couponId);
    let rows = 0;
    for (let after = ''; ;) {
      const page = await connection.selectFrom('issued_coupon').select(['id', 'user_id', 'status', 'used_at', 'hold_sequence', 'hold_ended'])
        .where('coupon_id', '=', couponId).where('id', '>', after).orderBy('id').limit(10_000).execute();
      for (const row of page) {
        rows++;
        const issued = c?.issued.get(row.id);
        const sequence = parseIssuedCouponId(row.id)?.sequence ?? 0;
        const redemption = c?.state?.redemptions.get(sequence);
        const usedAt = redemption?.state === 'USED' ? new Date(redemption.at) : undefined;
        // A hold not ended in the log is HELD in the read model, lapsed or not: its end is an event of its own.
        const hold = c?.state?.holds?.get(sequence);
        const logStatus = usedAt ? 'USED' : redemption?.state === 'REVOKED' ? 'REVOKED' : hold && !hold.ended ? 'HELD' : 'ISSUED';
        if (!issued) out.push(`issued_coupon ${row.id}: a row with no CouponIssued before the checkpoint`);
        else if (row.user_id !== issued.userId) out.push(`issued_coupon ${row.id}: held by ${row.user_id}, the log says ${issued.userId}`);
        else if (row.status !== logStatus) out.push(`issued_coupon ${row.id}: status ${row.status}, the log says ${logStatus}`);
        else if (row.hold_sequence !== (hold?.holdSequence ?? 0) || row.hold_ended !== (hold?.ended ?? null)) {
          out.push(`issued_coupon ${row.id}: hold ${row.hold_sequence} ended ${row.hold_ended}, the log says ${hold?.holdSequence ?? 0} ended ${hold?.ended ?? null}`);
        }
        else if (usedAt && row.used_at?.getTime() !== usedAt.getTime()) out.push(`issued_coupon ${row.id}: used_at ${row.used_at?.toISOString()}, the log says ${usedAt.toISOString()}`);
      }
      if (page.length < 10_000) break;
      after = page[page.length - 1]!.id;
    }
    // Every row matched one issued in the log; fewer rows than issues means some are missing.
    if (c && rows < c.issued.size) {
      const present = new Set<string>();
      for (let after = ''; ;) {
        const page = await connection.selectFrom('issued_coupon').select('id').where('coupon_id', '=', couponId).where('id', '>', after).orderBy('id').limit(10_000).execute();
        for (const row of page) present.add(row.id);
        if (page.length < 10_000) break;
        after = page[page.length - 1]!.id;
      }
      for (const id of c.issued.keys()) if (!present.has(id)) out.push(`issued_coupon ${id}: in the log, no row`);
    }
  }
  return out;
}

const sortedKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

function redisDifferences(c: ReplayedCoupon, r: RedisCoupon | undefined): string[] {
  const out: string[] = [];
  if (!c.definition) return out;
  if (!r || r.status === null) return [`coupon ${c.couponId}: in the log, missing in Redis`];
  if (r.issued !== c.issued.size) out.push(`coupon ${c.couponId}: Redis issued ${r.issued}, the log says ${c.issued.size}`);
  const [used, revoked] = [redemptionsOf(c, 'USED'), redemptionsOf(c, 'REVOKED')];
  if (r.usedCount !== used.size) out.push(`coupon ${c.couponId}: Redis used ${r.usedCount}, the log says ${used.size}`);
  if ((r.status === 'CLOSED') !== Boolean(c.closedAt)) out.push(`coupon ${c.couponId}: Redis status ${r.status}, the log says ${c.closedAt ? 'CLOSED' : 'ACTIVE'}`);
  const holders = c.state?.holders ?? new Map<string, number>();
  for (const [userId, sequence] of holders) {
    if (r.holders.get(userId) !== sequence) out.push(`coupon ${c.couponId}: Redis does not record ${userId} holding #${sequence}`);
  }
  for (const userId of r.holders.keys()) if (!holders.has(userId)) out.push(`coupon ${c.couponId}: Redis records ${userId} as a holder, the log does not`);
  const claims = (json: string | null | undefined) => JSON.stringify(json ? sortedKeys(JSON.parse(json) as Record<string, unknown>) : null);
  const logClaims = claims(c.state?.requiredClaims ? JSON.stringify(c.state.requiredClaims) : null);
  if (claims(r.requiredClaims) !== logClaims) out.push(`coupon ${c.couponId}: Redis requires claims ${r.requiredClaims ?? 'none'}, the log ${logClaims}`);
  const list = c.state?.allowList ? { version: c.state.allowList.version, size: c.state.allowList.members.size } : null;
  if (JSON.stringify(r.allowList) !== JSON.stringify(list)) out.push(`coupon ${c.couponId}: Redis allow-list ${JSON.stringify(r.allowList)}, the log ${JSON.stringify(list)}`);
  if (r.revokedCount !== revoked.size) out.push(`coupon ${c.couponId}: Redis revoked ${r.revokedCount}, the log says ${revoked.size}`);
  // Behind the log, its next change would carry a revision consumers take for a late copy and ignore.
  if (c.state && r.revision < settingRevision(c.state)) out.push(`coupon ${c.couponId}: Redis setting revision ${r.revision}, the log reached ${settingRevision(c.state)}`);
  if (r.unusedRevoked !== Boolean(c.state?.unusedRevoked)) out.push(`coupon ${c.couponId}: Redis has revoke-unused ${r.unusedRevoked ? '' : 'not '}in force, the log ${c.state?.unusedRevoked ? 'does' : 'does not'}`);
  const sequencesIn = (redemptions: Map<number, Redemption>, state: string) => [...redemptions].filter(([, x]) => x.state === state).map(([sequence]) => sequence);
  for (const [state, log] of [['USED', used], ['REVOKED', revoked]] as const) {
    const recorded = new Set(sequencesIn(r.redemptions, state));
    for (const sequence of sequencesIn(c.state?.redemptions ?? new Map(), state)) {
      if (!recorded.has(sequence)) out.push(`coupon ${c.couponId}: Redis does not record ${issuedCouponId(c.couponId, sequence)} as ${state}`);
    }
    if (recorded.size !== log.size) out.push(`coupon ${c.couponId}: Redis records ${recorded.size} ${state}, the log ${log.size}`);
  }
  return out;
}
