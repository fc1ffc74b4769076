import { createHash, randomFillSync } from 'node:crypto';
import { crc32 } from 'node:zlib';

const pool = Buffer.allocUnsafe(16 * 1024);
let pooled = pool.length;

/** Random bytes from a pool refilled 16 KiB at a time: one CSPRNG call per ~1,000 ids, not one per id. */
export function randomBytesPooled(size: number): Buffer {
  if (pooled + size > pool.length) {
    randomFillSync(pool);
    pooled = 0;
  }
  const bytes = Buffer.from(pool.subarray(pooled, pooled + size));
  pooled += size;
  return bytes;
}

/**
 * UUIDv7 (RFC 9562): time-ordered, so ids sort by creation. With `seed`, the random bits come from its
 * hash, so the same thing at the same time always gets the same id.
 */
export function uuidv7(now = Date.now(), seed?: string): string {
  const bytes = seed === undefined ? randomBytesPooled(16) : createHash('sha256').update(seed).digest().subarray(0, 16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISSUED_COUPON_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{8})$/;

export const isCouponId = (value: string): boolean => UUID.test(value);

/**
 * An issued coupon is named by its coupon and its place in the issue order (`<couponId>.00000042`):
 * the use path finds the coupon's Redis shard from the id alone, and ids sort in issue order.
 */
export function issuedCouponId(couponId: string, sequence: number): string {
  return `${couponId}.${String(sequence).padStart(8, '0')}`;
}

export function parseIssuedCouponId(value: string): { couponId: string; sequence: number } | undefined {
  const match = ISSUED_COUPON_ID.exec(value);
  return match ? { couponId: match[1]!, sequence: Number(match[2]) } : undefined;
}

/** Which admission shard a coupon lives in; every key of one coupon shares the shard's hash tag. */
export function shardOf(couponId: string, shards: number): number {
  return crc32(couponId) % shards;
}
