import { shardKeys, shardTag as tag } from '../../outbox/outbox.ts';
import { shardOf } from '../../ids/ids.ts';

/**
 * Redis key layout. Every key one admission call touches carries its shard's hash tag `{cp:<n>}`, so on
 * Redis Cluster a call stays in one slot; the outbox is one stream per shard, beside the coupons it records.
 */
export interface CouponKeys {
  coupon: string;
  holders: string;
  used: string;
  /** sequence → its latest hold at checkout (see `hold_of` in prelude.lua). */
  holds: string;
  outbox: string;
  /** Where a decision made under this request id is remembered, in the coupon's slot. */
  memo(requestId: string): string;
  /** A user's attempts at one decision on this coupon in the current window. */
  attempts(route: 'issue' | 'use' | 'hold', userId: string): string;
  /** On a coupon limited one per person: person (its claim's value) → the sequence issued to them. */
  persons: string;
  /** The two allow-list sets: the one in force (the coupon's `ala` names it) and the one an upload fills. */
  allowLists: [string, string];
  /**
   * The waiting room (coupon not split only): its counters (`n` tickets, `sd` seed, `sc` shuffle cursor, `sdone`,
   * `hd` places granted), person → ticket, the pre-queue by ticket, the line by place key, live passes by expiry,
   * and the grants of the last second.
   */
  queue: { meta: string; tickets: string; pre: string; line: string; passes: string; grants: string };
  /** Where one restore writes the coupon's holders, uses and allow-list before putting them in place at once. */
  staged(restoreId: string): [holders: string, used: string, allowList: string, persons: string, holds: string];
  /** Where one restore writes the coupon's waiting room, in `queue`'s shape. */
  stagedQueue(restoreId: string): CouponKeys['queue'];
}

export function couponKeys(couponId: string, shards: number): CouponKeys {
  return bucketKeys(couponId, 0, shardOf(couponId, shards));
}

/**
 * The keys of stock bucket `bucket` of a coupon split into buckets (stock-buckets.ts), which lives in admission
 * shard `shard` (bucket-placement.ts): bucket 0 is the coupon's own keys; every other bucket has the same key
 * shapes under its own name, so the same scripts run on it, in its shard's slot.
 */
export function bucketKeys(couponId: string, bucket: number, shard: number): CouponKeys {
  const t = tag(shard);
  const id = bucket === 0 ? couponId : `${couponId}:b${bucket}`;
  return {
    coupon: `${t}:c:${id}`, holders: `${t}:h:${id}`, used: `${t}:u:${id}`, holds: `${t}:hl:${id}`, persons: `${t}:p:${id}`, outbox: shardKeys(shard).outbox,
    memo: (requestId) => `${t}:rq:${requestId}`,
    attempts: (route, userId) => `${t}:rl:${route}:${id}:${userId}`,
    allowLists: [`${t}:al:${id}:a`, `${t}:al:${id}:b`],
    queue: queueKeys(`${t}:q`, id),
    stagedQueue: (restoreId) => queueKeys(`${t}:rs:q`, `${id}:${restoreId}`),
    staged: (restoreId) => [`${t}:rs:${id}:${restoreId}:h`, `${t}:rs:${id}:${restoreId}:u`, `${t}:rs:${id}:${restoreId}:al`, `${t}:rs:${id}:${restoreId}:p`, `${t}:rs:${id}:${restoreId}:hl`],
  };
}

const queueKeys = (prefix: string, id: string): CouponKeys['queue'] => ({
  meta: `${prefix}:${id}`, tickets: `${prefix}t:${id}`, pre: `${prefix}p:${id}`, line: `${prefix}l:${id}`, passes: `${prefix}s:${id}`, grants: `${prefix}g:${id}`,
});

/** A coupon split into buckets: where each bucket lives (the shard of bucket b at b). */
export interface BucketLayout {
  couponId: string;
  shards: readonly number[];
}

/** The layout a coupon's `bsh` field (each bucket's shard, comma-separated) names; undefined for a coupon not split. */
export function layoutFrom(couponId: string, placement: string | null | undefined): BucketLayout | undefined {
  const shards = placement ? placement.split(',').map(Number) : [];
  return shards.length > 1 ? { couponId, shards } : undefined;
}

export const keysOfBucket = (layout: BucketLayout, bucket: number): CouponKeys => bucketKeys(layout.couponId, bucket, layout.shards[bucket]!);
