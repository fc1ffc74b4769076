import type { Redis } from 'ioredis';
import { couponKeys, keysOfBucket, layoutFrom } from '../coupons/admission/keys.ts';
import { parseRedemption } from '../coupons/admission/redemption-value.ts';
import { inUse, type Redemption } from '../coupons/rules/coupon-rules.ts';
import { masterNodes } from '../redis/redis-client.ts';

export interface RedisCoupon {
  couponId: string;
  /** The Redis clock when this coupon was read: later admissions are not in this snapshot. */
  at: Date;
  status: string | null;
  issued: number;
  /** In use now: uses made less uses cancelled. */
  usedCount: number;
  revokedCount: number;
  /** Revoke-unused has run on it. */
  unusedRevoked: boolean;
  /** The setting revision its next change continues from. */
  revision: number;
  holders: Map<string, number>;
  redemptions: Map<number, Redemption>;
  /** The required claims as stored (JSON), and the allow-list in force: its version and size. */
  requiredClaims: string | null;
  allowList: { version: number; size: number } | null;
}

/** Every coupon Redis holds admission state for (on a cluster, from every master). */
export async function redisCouponIds(redis: Redis): Promise<string[]> {
  const ids = new Set<string>();
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', '{cp:*}:c:*', 'COUNT', 1000);
      // A stock bucket's hash (…:c:<id>:b<n>) is read with its coupon's.
      for (const key of keys) if (!/:b\d+$/.test(key)) ids.add(key.slice(key.lastIndexOf(':') + 1));
      cursor = next;
    } while (cursor !== '0');
  }
  return [...ids];
}

/**
 * Each coupon is read in one MULTI with TIME, so it is a consistent picture at a known instant; a coupon split
 * into stock buckets adds each other bucket's counts, holders and uses, read one bucket after another (a picture
 * at one instant only while nothing is admitted).
 */
export async function redisSnapshot(redis: Redis, shards: number, ids: string[]): Promise<Map<string, RedisCoupon>> {
  const out = new Map<string, RedisCoupon>();
  for (const couponId of ids) {
    const k = couponKeys(couponId, shards);
    const replies = await redis.multi().time().hmget(k.coupon, 'st', 'iss', 'usd', 'cnc', 'rvk', 'elc', 'alav', 'als', 'rvu', 'rev', 'bsh').hgetall(k.holders).hgetall(k.used).exec();
    const [time, fields, holders, used] = replies!.map(([, value]) => value) as [[string, string], (string | null)[], Record<string, string>, Record<string, string>];
    const layout = layoutFrom(couponId, fields[10]);
    for (let bucket = 1; layout && bucket < layout.shards.length; bucket++) {
      const b = keysOfBucket(layout, bucket);
      const more = await redis.multi().hmget(b.coupon, 'iss', 'usd', 'cnc', 'rvk').hgetall(b.holders).hgetall(b.used).exec();
      const [counts, bucketHolders, bucketUsed] = more!.map(([, value]) => value) as [(string | null)[], Record<string, string>, Record<string, string>];
      for (let i = 0; i < 4; i++) fields[i + 1] = String(Number(fields[i + 1] ?? 0) + Number(counts[i] ?? 0));
      Object.assign(holders, bucketHolders);
      Object.assign(used, bucketUsed);
    }
    out.set(couponId, {
      couponId,
      at: new Date(Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)),
      status: fields[0] ?? null,
      issued: Number(fields[1] ?? 0),
      usedCount: inUse({ usedCount: Number(fields[2] ?? 0), cancelledCount: Number(fields[3] ?? 0) }),
      revokedCount: Number(fields[4] ?? 0),
      unusedRevoked: fields[8] != null || Number(fields[4] ?? 0) > 0,
      revision: Number(fields[9] ?? 0),
      holders: new Map(Object.entries(holders).map(([u, s]) => [u, Number(s)])),
      redemptions: new Map(Object.entries(used).map(([s, value]) => [Number(s), parseRedemption(value)])),
      requiredClaims: fields[5] ?? null,
      allowList: fields[6] == null ? null : { version: Number(fields[6]), size: Number(fields[7] ?? 0) },
    });
  }
  return out;
}
