import { parseCouponEvent } from '../events/coupon-events.ts';
import { partitionFor } from '../kafka/kafka-client.ts';
import type { LogAndStores } from '../runtime/runtime.ts';
import { HistoryAuditor } from './history-auditor.ts';
import { mysqlSnapshot, outboxEvents, redisSnapshot, type MysqlSnapshot, type RedisCoupon } from './snapshots.ts';

export interface AuditReport {
  events: number;
  duplicates: number;
  coupons: number;
  violations: string[];
  readModelDifferences: string[];
  redisDifferences: string[];
}

export const auditPassed = (r: AuditReport) => r.violations.length + r.readModelDifferences.length + r.redisDifferences.length === 0;

/**
 * Replays the log from the start, checks every invariant, and reconciles the read models and the Redis
 * admission state with it. Each side is read before the log's end is fixed and compared with exactly the
 * events it had seen: MySQL up to its checkpoints, Redis up to the instant it was read.
 */
export async function runAudit(deps: LogAndStores, couponId?: string): Promise<AuditReport> {
  const redisState = await redisSnapshot(deps.redis, deps.shards, couponId);
  const pending = (await outboxEvents(deps.redis, deps.shards)).filter((e) => !couponId || e.couponId === couponId);
  const mysql = await mysqlSnapshot(deps.db, deps.topic, couponId);

  const log = new HistoryAuditor();
  const atCouponCheckpoint = new HistoryAuditor();
  const atIssuedCheckpoint = new HistoryAuditor();
  const asRedisSaw = new HistoryAuditor();
  const couponCp = mysql.checkpoints.get('coupon') ?? new Map<number, bigint>();
  const issuedCp = mysql.checkpoints.get('issued_coupon') ?? new Map<number, bigint>();
  const unreadable: string[] = [];
  const seenByRedis = (couponIdOf: string, occurredAt: string) => {
    const at = redisState.get(couponIdOf)?.at;
    return !at || new Date(occurredAt) <= at;
  };

  await deps.kafka.scan(
    deps.topic,
    (batch) => {
      for (const message of batch.messages) {
        if (couponId && message.key !== couponId) continue;
        let event;
        try {
          event = parseCouponEvent(JSON.parse(message.value ?? 'null'));
        } catch (error) {
          unreadable.push(`partition ${batch.partition} offset ${message.offset}: ${(error as Error).message}`);
          continue;
        }
        const offset = BigInt(message.offset);
        log.add(event);
        if (offset < (couponCp.get(batch.partition) ?? 0n)) atCouponCheckpoint.add(event);
        if (offset < (issuedCp.get(batch.partition) ?? 0n)) atIssuedCheckpoint.add(event);
        if (seenByRedis(event.couponId, event.occurredAt)) asRedisSaw.add(event);
      }
    },
    couponId ? { partitions: [partitionFor(couponId, deps.partitions)] } : {},
  );
  for (const event of pending) if (seenByRedis(event.couponId, event.occurredAt)) asRedisSaw.add(event);

  return {
    events: log.events,
    duplicates: log.duplicates,
    coupons: log.coupons.size,
    violations: [...unreadable.map((u) => `unreadable event at ${u}`), ...log.violations],
    readModelDifferences: compareReadModels(atCouponCheckpoint, atIssuedCheckpoint, mysql),
    redisDifferences: compareRedis(asRedisSaw, redisState),
  };
}

function compareReadModels(coupons: HistoryAuditor, issued: HistoryAuditor, mysql: MysqlSnapshot): string[] {
  const out: string[] = [];
  for (const c of coupons.coupons.values()) {
    if (!c.definition) continue;
    const row = mysql.coupons.get(c.couponId);
    if (!row) {
      out.push(`coupon ${c.couponId}: in the log, no row`);
      continue;
    }
    if (row.issued !== c.issued.size) out.push(`coupon ${c.couponId}: issued_count ${row.issued}, the log says ${c.issued.size}`);
    if (row.used !== c.used.size) out.push(`coupon ${c.couponId}: used_count ${row.used}, the log says ${c.used.size}`);
    if ((row.status === 'CLOSED') !== Boolean(c.closedAt)) out.push(`coupon ${c.couponId}: status ${row.status}, the log says ${c.closedAt ? 'CLOSED' : 'ACTIVE'}`);
  }
  for (const id of mysql.coupons.keys()) if (!coupons.coupons.get(id)?.definition) out.push(`coupon ${id}: a row with no CouponCreated before the checkpoint`);

  const expected = new Map<string, { couponId: string; userId: string; usedAt?: Date }>();
  for (const c of issued.coupons.values()) {
    for (const [id, i] of c.issued) expected.set(id, { couponId: c.couponId, userId: i.userId, usedAt: c.used.get(id)?.usedAt });
  }
  for (const [id, e] of expected) {
    const row = mysql.issued.get(id);
    if (!row) out.push(`issued_coupon ${id}: in the log, no row`);
    else if (row.userId !== e.userId) out.push(`issued_coupon ${id}: held by ${row.userId}, the log says ${e.userId}`);
    else if ((row.status === 'USED') !== Boolean(e.usedAt)) out.push(`issued_coupon ${id}: status ${row.status}, the log says ${e.usedAt ? 'USED' : 'ISSUED'}`);
    else if (e.usedAt && row.usedAt?.getTime() !== e.usedAt.getTime()) out.push(`issued_coupon ${id}: used_at ${row.usedAt?.toISOString()}, the log says ${e.usedAt.toISOString()}`);
  }
  for (const id of mysql.issued.keys()) if (!expected.has(id)) out.push(`issued_coupon ${id}: a row with no CouponIssued before the checkpoint`);
  return out;
}

function compareRedis(log: HistoryAuditor, redis: Map<string, RedisCoupon>): string[] {
  const out: string[] = [];
  for (const c of log.coupons.values()) {
    if (!c.definition) continue;
    const r = redis.get(c.couponId);
    if (!r || r.status === null) {
      out.push(`coupon ${c.couponId}: in the log, missing in Redis`);
      continue;
    }
    if (r.issued !== c.issued.size) out.push(`coupon ${c.couponId}: Redis issued ${r.issued}, the log says ${c.issued.size}`);
    if (r.usedCount !== c.used.size) out.push(`coupon ${c.couponId}: Redis used ${r.usedCount}, the log says ${c.used.size}`);
    if ((r.status === 'CLOSED') !== Boolean(c.closedAt)) out.push(`coupon ${c.couponId}: Redis status ${r.status}, the log says ${c.closedAt ? 'CLOSED' : 'ACTIVE'}`);
    for (const [userId, issuedCouponId] of c.holders) {
      const sequence = c.issued.get(issuedCouponId)!.sequence;
      if (r.holders.get(userId) !== sequence) out.push(`coupon ${c.couponId}: Redis does not record ${userId} holding #${sequence}`);
    }
    for (const userId of r.holders.keys()) if (!c.holders.has(userId)) out.push(`coupon ${c.couponId}: Redis records ${userId} as a holder, the log does not`);
    for (const issuedCouponId of c.used.keys()) {
      if (!r.used.has(c.issued.get(issuedCouponId)!.sequence)) out.push(`coupon ${c.couponId}: Redis does not record ${issuedCouponId} as used`);
    }
    if (r.used.size !== c.used.size) out.push(`coupon ${c.couponId}: Redis records ${r.used.size} uses, the log ${c.used.size}`);
  }
  for (const id of redis.keys()) if (!log.coupons.get(id)?.definition) out.push(`coupon ${id}: in Redis, not in the log`);
  return out;
}
