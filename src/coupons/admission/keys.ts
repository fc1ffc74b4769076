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
  outbox: string;
  /** Where a decision made under this request id is remembered, in the coupon's slot. */
  memo(requestId: string): string;
  /** A user's attempts at one decision on this coupon in the current window. */
  attempts(route: 'issue' | 'use', userId: string): string;
  /** The two allow-list sets: the one in force (the coupon's `ala` names it) and the one an upload fills. */
  allowLists: [string, string];
  /** Where one restore writes the coupon's holders, uses and allow-list before putting them in place at once. */
  staged(restoreId: string): [holders: string, used: string, allowList: string];
}

export function couponKeys(couponId: string, shards: number): CouponKeys {
  const shard = shardOf(couponId, shards);
  const t = tag(shard);
  return {
    coupon: `${t}:c:${couponId}`, holders: `${t}:h:${couponId}`, used: `${t}:u:${couponId}`, outbox: shardKeys(shard).outbox,
    memo: (requestId) => `${t}:rq:${requestId}`,
    attempts: (route, userId) => `${t}:rl:${route}:${couponId}:${userId}`,
    allowLists: [`${t}:al:${couponId}:a`, `${t}:al:${couponId}:b`],
    staged: (restoreId) => [`${t}:rs:${couponId}:${restoreId}:h`, `${t}:rs:${couponId}:${restoreId}:u`, `${t}:rs:${couponId}:${restoreId}:al`],
  };
}
