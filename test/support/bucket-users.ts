import { homeBucket } from '../../src/coupons/admission/stock-buckets.ts';

/** `count` user ids whose home bucket among `buckets` is `bucket`, named after `prefix`. */
export function usersOfBucket(prefix: string, bucket: number, count: number, buckets: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (homeBucket(`${prefix}-${i}`, buckets) === bucket) out.push(`${prefix}-${i}`);
  return out;
}
