import type { AdmissionStore } from '../coupons/admission/admission-store.ts';
import { couponStatus, remaining } from '../coupons/rules/coupon-rules.ts';
import type { Db } from '../db/database.ts';
import { outboxDepth } from '../outbox/outbox.ts';
import type { KafkaClient } from '../kafka/kafka-client.ts';
import { metrics } from '../metrics/metrics.ts';
import { projectionLags } from '../projector/projection-status.ts';
import type { Redis } from '../redis/redis-client.ts';

export interface DashboardDeps {
  db: Db;
  redis: Redis;
  kafka: KafkaClient;
  admission: AdmissionStore;
  topic: string;
  shards: number;
  outboxMaxEntries: number;
}

export interface DashboardSnapshot {
  at: string;
  coupons: { id: string; code: string | null; name: string; totalQuantity: number; issued: number; remaining: number; status: string; issuedPerSecond: number }[];
  /** Issue decisions of this API process by outcome code, since it started. */
  outcomes: Record<string, number>;
  /** p99 of this process's issue decisions during the last tick (upper bound of the histogram bucket), ms. */
  admissionP99Ms: number | null;
  outboxPending: number;
  projectionLag: Record<string, number>;
}

/** Coupons shown: the newest whose issue window is open, about to open, or closed within the last hour. */
const SHOWN = 8;

/**
 * What the live dashboard shows, one tick at a time. Counts come from Redis (current to the last admission),
 * the list of coupons from the read model, the outcomes and latency from this process's own metrics, the
 * outbox from Redis and the lag from MySQL and Kafka. Per-second rates are differences between ticks.
 */
export class DashboardTicker {
  private previousIssued = new Map<string, number>();
  private previousBuckets: { le: number; count: number }[] = [];
  private previousAt = Date.now();

  private readonly deps: DashboardDeps;

  constructor(deps: DashboardDeps) {
    this.deps = deps;
  }

  async tick(): Promise<DashboardSnapshot> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.previousAt) / 1000);
    this.previousAt = now;
    const rows = await this.deps.db.selectFrom('coupon').select(['id', 'code', 'name', 'total_quantity'])
      .where('status', '=', 'ACTIVE').where('issue_end_at', '>', new Date(now - 3_600_000)).where('issue_start_at', '<', new Date(now + 3_600_000))
      .orderBy('created_at', 'desc').limit(SHOWN).execute();
    const coupons = [];
    for (const row of rows) {
      const snapshot = await this.deps.admission.snapshot(row.id);
      if (!snapshot) continue;
      const issued = snapshot.issuedCount;
      const before = this.previousIssued.get(row.id) ?? issued;
      this.previousIssued.set(row.id, issued);
      coupons.push({
        id: row.id, code: row.code, name: row.name, totalQuantity: row.total_quantity, issued,
        remaining: remaining({ totalQuantity: snapshot.definition.totalQuantity, issued }), status: couponStatus(snapshot, snapshot.now.getTime()),
        issuedPerSecond: Math.round((issued - before) / seconds),
      });
    }
    const outcomes: Record<string, number> = {};
    for (const v of (await metrics.admissionOutcomes.get()).values) {
      if (v.labels.decision === 'issue') outcomes[String(v.labels.code)] = v.value;
    }
    const [outbox, lags] = await Promise.all([
      outboxDepth(this.deps.redis, this.deps.shards, this.deps.outboxMaxEntries).catch(() => undefined),
      projectionLags(this.deps.db, this.deps.kafka, this.deps.topic).catch(() => []),
    ]);
    const projectionLag: Record<string, number> = {};
    for (const l of lags) projectionLag[l.projection] = (projectionLag[l.projection] ?? 0) + l.lag;
    return {
      at: new Date(now).toISOString(), coupons, outcomes, admissionP99Ms: await this.p99SinceLastTick(),
      outboxPending: outbox ? outbox.pending.reduce((a, b) => a + b, 0) : -1, projectionLag,
    };
  }

  /** From the cumulative histogram: the bucket the 99th percentile of this tick's decisions fell in. */
  private async p99SinceLastTick(): Promise<number | null> {
    const buckets = (await metrics.admissionDuration.get()).values
      .filter((v) => v.metricName === 'admission_duration_seconds_bucket' && v.labels.decision === 'issue')
      .map((v) => ({ le: bucketBound((v.labels as Record<string, string | number>).le), count: v.value }))
      .sort((a, b) => a.le - b.le);
    const delta = buckets.map((b) => ({ le: b.le, count: b.count - (this.previousBuckets.find((p) => p.le === b.le)?.count ?? 0) }));
    this.previousBuckets = buckets;
    const total = delta[delta.length - 1]?.count ?? 0;
    if (total === 0) return null;
    const bucket = delta.find((b) => b.count >= total * 0.99)!;
    return bucket.le === Infinity ? null : Math.round(bucket.le * 1000);
  }
}

const bucketBound = (le: string | number | undefined) => (le === '+Inf' ? Infinity : Number(le));
