import type { AdmissionRequest } from '../../idempotency/admission-request.ts';
import { uuidv7 } from '../../ids/ids.ts';
import type { EventMeta, IssueResult } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';
import type { HumanVerdict } from '../human-check/human-check.ts';
import { issueResultOf } from './issue-script.ts';
import { keysOfBucket, type BucketLayout } from './keys.ts';

/** Sequences moved out of one bucket toward another: what the taker needs to take them in. */
export interface Transfer {
  transferId: string;
  from: number;
  to: number;
  first: number;
  last: number;
  /** The giver's `cfg`: the coupon's settings, for a bucket that holds none yet. */
  settings: string;
  /** The CouponStockMoved entry the taker's CouponStockReceived must follow in the log (outbox.ts's gate). */
  gate: string;
  /** Bucket 0 opening the taker (the only way a bucket comes to exist). */
  opens: boolean;
}

/** What bucket-issue.lua answers: an issue's outcome, or that this bucket is dry (or was never given stock). */
export type BucketIssueResult = IssueResult | { outcome: 'DRY' | 'NO_BUCKET' | 'LIST_PENDING' };

/** bucket-issue.lua: the next coupon of the asker's bucket for them, taking in `transfer` first when given; `counted`: a later round of one request (its attempt counted once). */
export async function bucketIssueScript(
  runner: ScriptRunner, layout: BucketLayout, bucket: number, userId: string, eventId: string, meta: EventMeta, request: AdmissionRequest, claims: string,
  transfer: Transfer | undefined, receivedEventId: string, counted: boolean, human: HumanVerdict = '',
): Promise<BucketIssueResult> {
  const { couponId } = layout;
  const k = keysOfBucket(layout, bucket);
  const memo = runner.memo(couponId, request, k);
  const t = transfer ?? { transferId: '', from: '', first: '', last: '', settings: '', gate: '', opens: false };
  const { reply, replayed } = await runner.decide('bucketIssue', [
    k.coupon, k.holders, k.outbox, memo.key, k.attempts('issue', userId), ...k.allowLists, couponId, userId, eventId, JSON.stringify(meta), memo.fingerprint, memo.ttlMs,
    ...runner.limit(), claims, bucket, t.transferId, t.from, t.first, t.last, t.settings, t.opens ? '1' : '', receivedEventId, t.gate,
    counted ? '1' : '', human,
  ]);
  return issueResultOf(couponId, reply, replayed);
}

/**
 * bucket-give.lua: `count` sequences (or half what it holds) moved out of bucket `from` toward `to`; undefined when it
 * has none; NO_BUCKET when it holds no stock at all (never opened, or lost). `opening`: bucket 0 opening `to`
 * (whatever stock it has, none included); 'OPENED' when it did so before.
 */
export async function bucketGiveScript(
  runner: ScriptRunner, layout: BucketLayout, transferId: string, from: number, to: number, count: number | undefined, eventId: string, meta: EventMeta,
  opening = false,
): Promise<Transfer | 'OPENED' | 'NO_BUCKET' | undefined> {
  const k = keysOfBucket(layout, from);
  const { reply: [outcome, first, last, entry, settings] } = await runner.decide('bucketGive', [
    k.coupon, k.outbox, layout.couponId, transferId, from, to, count ?? '', eventId, JSON.stringify(meta), opening ? '1' : '',
  ]);
  if (outcome === 'OPENED' || outcome === 'NO_BUCKET') return outcome;
  if (outcome !== 'GIVEN') return undefined;
  return { transferId, from, to, first: Number(first), last: Number(last), settings: settings!, gate: `${k.outbox}|${entry!}`, opens: opening };
}

/**
 * bucket-receive.lua: a transfer taken in by its bucket without an issue. `bounded`: refused past the outbox bound
 * (the relay's is not: it is what drains the outboxes).
 */
export async function bucketReceiveScript(
  runner: ScriptRunner, layout: BucketLayout, transfer: Transfer, eventId: string, meta: EventMeta, bounded: boolean,
): Promise<'RECEIVED' | 'RECEIVED_BEFORE' | 'BUCKET_LOST'> {
  const k = keysOfBucket(layout, transfer.to);
  const { reply: [outcome] } = await runner.decide('bucketReceive', [
    k.coupon, k.outbox, layout.couponId, transfer.transferId, transfer.from, transfer.to, transfer.first, transfer.last, transfer.settings,
    transfer.opens ? '1' : '', eventId, JSON.stringify(meta), transfer.gate, bounded ? '1' : '',
  ]);
  return outcome as 'RECEIVED' | 'RECEIVED_BEFORE' | 'BUCKET_LOST';
}

/** bucket-close.lua: issuing closed in one bucket; answers the gate the coupon's close must follow ('' when its outbox is empty). */
export async function bucketCloseScript(runner: ScriptRunner, layout: BucketLayout, bucket: number): Promise<string> {
  const k = keysOfBucket(layout, bucket);
  const { reply: [, newest] } = await runner.decide('bucketClose', [k.coupon, k.outbox]);
  return newest === '0-0' ? '' : `${k.outbox}|${newest!}`;
}

/**
 * bucket-settings.lua: bucket 0's window and claims (`settings`, its `cfg`) carried to another bucket, each over an
 * older revision only.
 */
export async function bucketSettingsScript(
  runner: ScriptRunner, layout: BucketLayout, bucket: number, settings: string, meta: EventMeta,
): Promise<'TAKEN' | 'HELD'> {
  const k = keysOfBucket(layout, bucket);
  const { reply: [outcome] } = await runner.decide('bucketSettings', [
    k.coupon, k.outbox, layout.couponId, bucket, settings, uuidv7(), uuidv7(), JSON.stringify(meta),
  ]);
  return outcome as 'TAKEN' | 'HELD';
}

/** One bucket's live counts, and the caller's issuance there when named. */
export interface BucketCounts {
  issued: number;
  used: number;
  cancelled: number;
  revoked: number;
  /** The coupon's total (bucket 0 only). */
  total?: number;
  mine?: { sequence: number; state: string; at: string };
}

/** bucket-read.lua; `confirmed`: an answer depends on it, so with ADMISSION_REPLICAS=1 it counts only once a replica holds what it read. */
export async function bucketReadScript(runner: ScriptRunner, layout: BucketLayout, bucket: number, userId = '', confirmed = false): Promise<BucketCounts> {
  const k = keysOfBucket(layout, bucket);
  const args = [k.coupon, k.holders, k.used, userId];
  const [issued, used, cancelled, revoked, sequence, state, at, total] = await (confirmed ? runner.readConfirmed('bucketRead', args) : runner.read('bucketRead', args));
  return {
    issued: Number(issued), used: Number(used), cancelled: Number(cancelled), revoked: Number(revoked),
    ...(total ? { total: Number(total) } : {}),
    ...(sequence ? { mine: { sequence: Number(sequence), state: state!, at: at! } } : {}),
  };
}

/** Where a carry stages bucket `bucket`'s share of the allow-list change at `revision`, in the bucket's slot. */
export const stagedShare = (layout: BucketLayout, bucket: number, revision: string): string => `${keysOfBucket(layout, bucket).allowLists[0]}:r${revision}`;

/**
 * bucket-allow-list.lua: bucket 0's allow-list change at `revision` (`version` null: removed) put in force in another
 * bucket from its staged share, over an older revision only. `gate`: bucket 0's entry of the change. `bounded`:
 * refused past the outbox bound (the relay's carry is not: it is what drains the outboxes).
 */
export async function bucketAllowListScript(
  runner: ScriptRunner, layout: BucketLayout, bucket: number, version: string | null, revision: string, gate: string, meta: EventMeta, bounded: boolean,
): Promise<'TAKEN' | 'HELD'> {
  const k = keysOfBucket(layout, bucket);
  const { reply: [outcome] } = await runner.decide('bucketAllowList', [
    k.coupon, ...k.allowLists, stagedShare(layout, bucket, revision), k.outbox, layout.couponId, bucket, version ?? '', revision, gate, uuidv7(),
    JSON.stringify(meta), bounded ? '1' : '',
  ]);
  return outcome as 'TAKEN' | 'HELD';
}
