import { sql } from 'kysely';
import type { Redis } from 'ioredis';
import { couponKeys, shardKeys } from '../coupons/admission/keys.ts';
import type { Db } from '../db/database.ts';
import type { CouponEvent } from '../events/coupon-events.ts';
import { outboxEntryToEvent } from '../relay/outbox-entry.ts';

export interface RedisCoupon {
  couponId: string;
  /** The Redis clock when this coupon was read: later admissions are not in this snapshot. */
  at: Date;
  status: string | null;
  issued: number;
  usedCount: number;
  holders: Map<string, number>;
  used: Map<number, number>;
}

/** Each coupon is read in one MULTI with TIME, so it is a consistent picture at a known instant. */
export async function redisSnapshot(redis: Redis, shards: number, only?: string): Promise<Map<string, RedisCoupon>> {
  const ids = new Set<string>(only ? [only] : []);
  if (!only) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', '{cp:*}:c:*', 'COUNT', 1000);
      for (const key of keys) ids.add(key.slice(key.lastIndexOf(':') + 1));
      cursor = next;
    } while (cursor !== '0');
  }
  const out = new Map<string, RedisCoupon>();
  for (const couponId of ids) {
    const k = couponKeys(couponId, shards);
    const replies = await redis.multi().time().hmget(k.coupon, 'st', 'iss', 'usd').hgetall(k.holders).hgetall(k.used).exec();
    const [time, fields, holders, used] = replies!.map(([, value]) => value) as [[string, string], (string | null)[], Record<string, string>, Record<string, string>];
    out.set(couponId, {
      couponId,
      at: new Date(Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)),
      status: fields[0] ?? null,
      issued: Number(fields[1] ?? 0),
      usedCount: Number(fields[2] ?? 0),
      holders: new Map(Object.entries(holders).map(([u, s]) => [u, Number(s)])),
      used: new Map(Object.entries(used).map(([s, at]) => [Number(s), Number(at)])),
    });
  }
  return out;
}

/** Events admitted but not yet relayed: admission state includes them, the log does not yet. */
export async function outboxEvents(redis: Redis, shards: number): Promise<CouponEvent[]> {
  const events: CouponEvent[] = [];
  for (let shard = 0; shard < shards; shard++) {
    for (const [, fields] of await redis.xrange(shardKeys(shard).outbox, '-', '+')) {
      try {
        events.push(outboxEntryToEvent(fields));
      } catch {
        // The relay dead-letters these; they never reach the log or a read model.
      }
    }
  }
  return events;
}

export interface MysqlSnapshot {
  /** projection → partition → next offset: the rows below hold exactly the events before these. */
  checkpoints: Map<string, Map<number, bigint>>;
  coupons: Map<string, { issued: number; used: number; status: string; closedAt: Date | null }>;
  issued: Map<string, { couponId: string; userId: string; status: string; usedAt: Date | null }>;
}

/** One consistent snapshot: the projector commits rows and checkpoints together, so they agree in it. */
export async function mysqlSnapshot(db: Db, topic: string, only?: string): Promise<MysqlSnapshot> {
  return db.connection().execute(async (connection) => {
    await sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`.execute(connection);
    await sql`START TRANSACTION WITH CONSISTENT SNAPSHOT`.execute(connection);
    try {
      const checkpoints = new Map<string, Map<number, bigint>>();
      for (const row of await connection.selectFrom('projection_checkpoint').selectAll().where('topic', '=', topic).execute()) {
        const forProjection = checkpoints.get(row.projection) ?? new Map<number, bigint>();
        forProjection.set(row.partition_no, BigInt(row.next_offset));
        checkpoints.set(row.projection, forProjection);
      }
      let couponQuery = connection.selectFrom('coupon').select(['id', 'issued_count', 'used_count', 'status', 'closed_at']);
      if (only) couponQuery = couponQuery.where('id', '=', only);
      const coupons = new Map((await couponQuery.execute()).map((r) => [r.id, { issued: r.issued_count, used: r.used_count, status: r.status, closedAt: r.closed_at }]));
      const issued: MysqlSnapshot['issued'] = new Map();
      let after = '';
      for (;;) {
        let q = connection.selectFrom('issued_coupon').select(['id', 'coupon_id', 'user_id', 'status', 'used_at']).where('id', '>', after);
        if (only) q = q.where('coupon_id', '=', only);
        const rows = await q.orderBy('id').limit(10_000).execute();
        for (const r of rows) issued.set(r.id, { couponId: r.coupon_id, userId: r.user_id, status: r.status, usedAt: r.used_at });
        if (rows.length < 10_000) break;
        after = rows[rows.length - 1]!.id;
      }
      return { checkpoints, coupons, issued };
    } finally {
      await sql`COMMIT`.execute(connection);
    }
  });
}
