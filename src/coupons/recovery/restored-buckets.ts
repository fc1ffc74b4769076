import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { EventOf } from '../../events/coupon-events.ts';
import { keysOfBucket } from '../admission/keys.ts';
import { outboxEntryToEvent, shardKeys } from '../../outbox/outbox.ts';
import { stage } from './staged-keys.ts';
import { uuidv7 } from '../../ids/ids.ts';
import { homeBucket } from '../admission/stock-buckets.ts';
import { redemptionValue } from '../admission/redemption-value.ts';
import type { AdmissionCoupon } from '../rules/coupon-rules.ts';
import type { Range } from '../rules/stock-ledger.ts';
import type { RebuiltBuckets, RebuiltCoupon } from './rebuilt-coupon.ts';

/** One stock bucket as a restore writes it back. */
export interface RestoredBucket {
  bucket: number;
  fields: Record<string, string | number>;
  holders: [string, number][];
  used: [number, string][];
  /** Its share of the allow-list in force (bucket 0: the whole list), put in set `a`. */
  allowList: string[];
  /**
   * Events for its outbox: the receipts of transfers toward it the log shows moved and never taken in (taken in
   * now), and its announcements of the coupon's settings changes it had not taken yet (it takes them now). `g`: the
   * outbox entry a receipt must follow into the log, when its CouponStockMoved is still in an outbox.
   */
  events: { t: string; e: string; d: string; v: string; g?: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A window and claims as a bucket's hash keeps them (take_settings in prelude.lua), with the revisions that brought them. */
function settingFields(seen: AdmissionCoupon, windowRevision: number, claimsRevision: number): Record<string, string | number> {
  return {
    is: seen.issueStartAt, ie: seen.issueEndAt, wrv: windowRevision, crv: claimsRevision,
    ...(windowRevision > 0 ? { isa: iso(seen.issueStartAt), iea: iso(seen.issueEndAt) } : {}),
    ...(seen.requiredClaims ? { elc: JSON.stringify(seen.requiredClaims) } : {}),
  };
}

/** Unissued ranges as take_sequence reads them: `lo`..`hi`, then `more`. */
function rangeFields(ranges: readonly Range[]): Record<string, string | number> {
  const [first, ...rest] = [...ranges].sort((a, b) => a[0] - b[0]);
  return { lo: first?.[0] ?? 1, hi: first?.[1] ?? 0, more: rest.map(([lo, hi]) => `${lo}-${hi}`).join(',') };
}

/**
 * Every opened stock bucket of a lost bucketed coupon as the log says it stood (bucket 0 last: its hash is what says
 * the coupon is there): holders and uses by their holder's home bucket, each bucket's own counts, unissued ranges
 * (stock in flight taken in by its taker), and the transfers each took in (so one finished again later, by the relay
 * sending a move an outbox still held, is known). Every bucket holds the coupon's newest window and claims, as a
 * carry would have left it, and announces those it had not taken. `head`: bucket 0's fields as a coupon not split has them.
 * `gates`: the outbox entries (stream|id) of this coupon's changes still in an outbox that a bucket's event must
 * follow into the log (pendingGates).
 */
export function restoredBuckets(r: RebuiltCoupon, stock: RebuiltBuckets, shards: readonly number[], head: Record<string, string | number>, gates: PendingGates): RestoredBucket[] {
  const { state } = r;
  const K = shards.length;
  const pending = stock.ledger.pending();
  const revisions = { window: state.revisions?.window ?? 0, claims: state.revisions?.claims ?? 0, allowList: state.revisions?.allowList ?? 0 };
  const settings = settingFields(state, revisions.window, revisions.claims);
  const cfg = JSON.stringify({
    // A bucket opened after the restore opens as the coupon stands: a closed coupon's stays closed.
    st: state.status === 'CLOSED' ? 'CLOSED' : 'ACTIVE', vf: String(state.validFrom), vu: String(state.validUntil), vfs: r.validFrom, vus: r.validUntil, bk: String(K),
    ...(state.created?.allowList ? { ala: 'a', alav: '0' } : {}),
    ...(revisions.allowList > 0 ? { alw: String(revisions.allowList) } : {}),
    ...(state.humanCheck ? { hc: '1' } : {}),
    ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v)])),
  });
  const announced = {
    window: { issueStartAt: iso(state.issueStartAt), issueEndAt: iso(state.issueEndAt), revision: revisions.window },
    eligibility: { requiredClaims: state.requiredClaims ?? null, revision: revisions.claims },
  };
  const buckets = [...[...stock.opened].filter((b) => b > 0).sort((a, b) => a - b), 0];
  return buckets.map((bucket) => {
    const own = state.buckets?.get(bucket);
    const arriving = pending.filter((t) => t.to === bucket);
    const opening = arriving.some((t) => t.opens);
    const events = arriving.map((t) => {
      const data: EventOf<'CouponStockReceived'>['data'] = { transferId: t.transferId, fromBucket: t.from, toBucket: t.to, first: t.first, last: t.last };
      if (t.opens) {
        Object.assign(data, { opens: true }, revisions.window > 0 ? { window: announced.window } : {}, revisions.claims > 0 ? { eligibility: announced.eligibility } : {});
      }
      const gate = gates.moves.get(t.transferId);
      return { t: 'CouponStockReceived', e: uuidv7(), d: JSON.stringify(data), v: '1', ...(gate ? { g: gate } : {}) };
    });
    if (bucket > 0 && !opening && revisions.window > (own?.window?.revision ?? 0)) {
      events.push({ t: 'CouponIssueWindowChanged', e: uuidv7(), d: JSON.stringify({ ...announced.window, bucket }), v: '2' });
    }
    if (bucket > 0 && !opening && revisions.claims > (own?.claims?.revision ?? 0)) {
      events.push({ t: 'CouponEligibilityChanged', e: uuidv7(), d: JSON.stringify({ ...announced.eligibility, bucket }), v: '2' });
    }
    const mine = (userId: string) => homeBucket(userId, K) === bucket;
    const allowList = bucket === 0 ? [...(state.allowList?.members ?? [])] : [...(state.allowList?.members ?? [])].filter(mine);
    if (bucket > 0 && revisions.allowList > (own?.allowList?.revision ?? 0)) {
      const version = state.allowList?.version ?? null;
      const gate = gates.lists.get(revisions.allowList);
      events.push({ t: 'CouponAllowListReplaced', e: uuidv7(), d: JSON.stringify({ version, size: allowList.length, revision: revisions.allowList, bucket }), v: '2', ...(gate ? { g: gate } : {}) });
    }
    const fields: Record<string, string | number> = {
      ...(bucket === 0 ? { ...head, bk: K, bsh: shards.join(','), ...Object.fromEntries([...stock.opened].map((b) => [`op:${b}`, 1])) }
        : { st: state.status, vf: state.validFrom, vu: state.validUntil, vfs: r.validFrom, vus: r.validUntil, tk: state.totalQuantity, ...settings, ...(state.humanCheck ? { hc: 1 } : {}) }),
      bkn: bucket, cfg,
      iss: stock.issued.get(bucket) ?? 0, usd: stock.used.get(bucket) ?? 0, cnc: own?.cancelledCount ?? 0, rvk: own?.revokedCount ?? 0,
      ...rangeFields([...stock.ledger.holding(bucket), ...arriving.filter((t) => t.first <= t.last).map((t): Range => [t.first, t.last])]),
      ...Object.fromEntries([...stock.ledger.takenIn(bucket), ...arriving.map((t) => t.transferId)].map((id) => [`x:${id}`, 1])),
    };
    // Revoke-unused is in force in a bucket once its run reached it.
    if (own?.unusedRevoked) fields.rvu = 1;
    else delete fields.rvu;
    // The list as a carry leaves it (bucket-allow-list.lua): in force in set `a`, '' once removed, with its revision.
    if (bucket > 0 && revisions.allowList > 0) Object.assign(fields, state.allowList ? { ala: 'a', alav: state.allowList.version } : { ala: '' }, { alr: revisions.allowList });
    else if (bucket > 0 && state.created?.allowList) Object.assign(fields, { ala: 'a', alav: 0 });
    if (bucket === 0 && revisions.allowList > 0) fields.alr = revisions.allowList;
    return {
      bucket, fields, events, allowList,
      holders: [...state.holders].filter(([userId]) => mine(userId)),
      used: [...state.redemptions].filter(([, redemption]) => mine(redemption.userId)).map(([sequence, redemption]) => [sequence, redemptionValue(redemption)]),
    };
  });
}

const INSTALL_BUCKET = ['prelude', 'install-bucket'].map((name) => readFileSync(new URL(`../admission/${name}.lua`, import.meta.url), 'utf8')).join('\n');

/**
 * A coupon's changes still in an outbox that a restored bucket's event must follow: each CouponStockMoved by
 * transfer id (its receipt), and bucket 0's CouponAllowListReplaced by revision (a bucket's announcement of it).
 */
export interface PendingGates {
  moves: ReadonlyMap<string, string>;
  lists: ReadonlyMap<number, string>;
}

export async function pendingGates(redis: Redis, couponId: string, shards: number): Promise<PendingGates> {
  const moves = new Map<string, string>();
  const lists = new Map<number, string>();
  for (let shard = 0; shard < shards; shard++) {
    const stream = shardKeys(shard).outbox;
    for (const [id, fields] of await redis.xrange(stream, '-', '+')) {
      if (!fields.includes(couponId) || !(fields.includes('CouponStockMoved') || fields.includes('CouponAllowListReplaced'))) continue;
      try {
        const event = outboxEntryToEvent(fields);
        if (event.couponId !== couponId) continue;
        if (event.type === 'CouponStockMoved') moves.set(event.data.transferId, `${stream}|${id}`);
        if (event.type === 'CouponAllowListReplaced' && event.data.bucket === undefined) lists.set(event.data.revision, `${stream}|${id}`);
      } catch {
        // The relay dead-letters it: it never reaches the log, and nothing waits for it.
      }
    }
  }
  return { moves, lists };
}

/**
 * Puts restored buckets in place, in order (bucket 0 last). HELD: a bucket was there already (lost only in part,
 * or another restore came first), and nothing is written.
 */
export async function installBuckets(redis: Redis, couponId: string, shards: readonly number[], buckets: RestoredBucket[]): Promise<'INSTALLED' | 'HELD'> {
  const layout = { couponId, shards };
  const held = await Promise.all(buckets.map((b) => redis.hexists(keysOfBucket(layout, b.bucket).coupon, 'cfg')));
  if (held.some((h) => h === 1)) return 'HELD';
  for (const b of buckets) {
    const k = keysOfBucket(layout, b.bucket);
    const [holders, used, allowList] = k.staged(uuidv7());
    await stage(redis, holders, { entries: b.holders });
    await stage(redis, used, { entries: b.used });
    await stage(redis, allowList, { members: b.allowList });
    const installed = await redis.eval(INSTALL_BUCKET, 9, k.coupon, k.holders, k.used, ...k.allowLists, k.outbox, holders, used, allowList, couponId, '{}', JSON.stringify(b.events), ...Object.entries(b.fields).flat());
    if (installed !== 1) return 'HELD';
  }
  return 'INSTALLED';
}
