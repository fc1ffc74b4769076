import type { CouponEvent, CouponEventType, EventOf, RequiredClaims } from '../../events/coupon-events.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';
import { foldQueue, queueOf } from './queue-rules.ts';
import { moneyOf } from './money.ts';
import { bucketState, type AdmissionCoupon, type AllowList, type Setting } from './coupon-state.ts';

/**
 * Whether a change of `setting` at `revision` is newer than the last one applied (and records it if so). A late
 * copy of an older change is not; changes from before revisions (0) apply in log order until a revised one came.
 */
function takesEffect(coupon: AdmissionCoupon, setting: Setting, revision = 0): boolean {
  const applied = coupon.revisions?.[setting] ?? 0;
  if (revision === 0 ? applied !== 0 : revision <= applied) return false;
  coupon.revisions = { window: 0, claims: 0, allowList: 0, ...coupon.revisions, [setting]: revision };
  return true;
}

/** How each event changes the coupon's state. */
const FOLDS: { [T in CouponEventType]: (coupon: AdmissionCoupon | undefined, event: EventOf<T>) => AdmissionCoupon | undefined } = {
  CouponCreated: (coupon, event) => {
    return coupon ?? {
      couponId: event.couponId,
      status: 'ACTIVE',
      totalQuantity: event.data.totalQuantity,
      issued: 0,
      usedCount: 0,
      cancelledCount: 0,
      revokedCount: 0,
      issueStartAt: Date.parse(event.data.issueStartAt),
      issueEndAt: Date.parse(event.data.issueEndAt),
      validFrom: Date.parse(event.data.validFrom),
      validUntil: Date.parse(event.data.validUntil),
      holders: new Map(),
      redemptions: new Map(),
      allowListVersion: 0,
      ...(event.data.eligibility?.requiredClaims ? { requiredClaims: event.data.eligibility.requiredClaims } : {}),
      ...(event.data.eligibility?.allowList ? { allowList: { version: 0, members: new Set<string>() } } : {}),
      ...(event.data.onePer ? { onePer: event.data.onePer.claim, persons: new Map<string, number>() } : {}),
      ...(event.data.humanCheck ? { humanCheck: true as const } : {}),
      ...moneyState(event.data),
      ...(event.data.opening?.mode === 'queue' ? { queue: queueOf(event.data.opening) } : {}),
      ...((event.data.buckets ?? 1) > 1 ? { bucketCount: event.data.buckets, created: {
        issueStartAt: Date.parse(event.data.issueStartAt), issueEndAt: Date.parse(event.data.issueEndAt),
        ...(event.data.eligibility?.requiredClaims ? { requiredClaims: event.data.eligibility.requiredClaims } : {}),
        ...(event.data.eligibility?.allowList ? { allowList: { version: 0, members: new Set<string>() } } : {}),
      } } : {}),
    };
  },
  CouponIssued: (coupon, event) => {
    const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
    if (!coupon || sequence === undefined || coupon.holders.has(event.data.userId)) return coupon;
    coupon.holders.set(event.data.userId, sequence);
    if (event.data.person !== undefined) (coupon.persons ??= new Map()).set(event.data.person, sequence);
    coupon.queue?.passes.delete(event.data.person ?? event.data.userId);
    // A stock bucket's sequences come from its ranges, not in issue order: each new holder is one more issued.
    coupon.issued = event.data.bucket === undefined ? Math.max(coupon.issued, sequence) : coupon.issued + 1;
    return coupon;
  },
  CouponUsed: (coupon, event) => {
    // A use is news only when it is a later generation than any seen: a copy of an earlier one, even after its cancellation, changes nothing.
    const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
    const { useGeneration: generation, orderId } = event.data;
    if (coupon && sequence !== undefined && (coupon.redemptions.get(sequence)?.generation ?? 0) < generation) {
      const { discountMinor } = event.data;
      coupon.redemptions.set(sequence, { state: 'USED', at: Date.parse(event.occurredAt), generation, orderId, userId: event.data.userId, ...(discountMinor === undefined ? {} : { discountMinor }) });
      spend(coupon, event.data);
      const hold = coupon.holds?.get(sequence);
      if (hold && hold.holdSequence === event.data.holdSequence) hold.ended = 'USED';
      // A stock bucket counts its own uses: each use of a later generation is one more.
      coupon.usedCount = event.data.bucket === undefined ? Math.max(coupon.usedCount, event.data.useSequence) : coupon.usedCount + 1;
    }
    return coupon;
  },
  CouponUseCancelled: (coupon, event) => {
    const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
    const r = sequence === undefined ? undefined : coupon?.redemptions.get(sequence);
    if (coupon && r?.state === 'USED' && r.generation === event.data.useGeneration) {
      const { revokedCount, bucket } = event.data;
      spend(coupon, event.data);
      coupon.redemptions.set(sequence!, revokedCount
        ? { state: 'REVOKED', at: Date.parse(event.occurredAt), generation: r.generation, orderId: r.orderId, userId: r.userId }
        : { state: 'CANCELLED', generation: r.generation, orderId: r.orderId, userId: r.userId });
      if (bucket === undefined) {
        coupon.cancelledCount = Math.max(coupon.cancelledCount, event.data.cancelSequence);
        coupon.revokedCount = Math.max(coupon.revokedCount, revokedCount ?? 0);
      } else {
        // A bucket numbers its own: the coupon's counts are their sums, one more for each use undone.
        const counts = bucketState(coupon, bucket);
        counts.cancelledCount = Math.max(counts.cancelledCount, event.data.cancelSequence);
        counts.revokedCount = Math.max(counts.revokedCount, revokedCount ?? 0);
        coupon.cancelledCount += 1;
        if (revokedCount) coupon.revokedCount += 1;
      }
    }
    return coupon;
  },
  CouponHeld: (coupon, event) => {
    // A hold is news only over an older one: a copy of a hold, even one ended since, changes nothing.
    const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
    const { orderId, userId, holdSequence, heldUntilMs } = event.data;
    if (coupon && sequence !== undefined && (coupon.holds?.get(sequence)?.holdSequence ?? 0) < holdSequence) {
      (coupon.holds ??= new Map()).set(sequence, { orderId, userId, until: heldUntilMs, holdSequence });
      coupon.heldCount = Math.max(coupon.heldCount ?? 0, holdSequence);
    }
    return coupon;
  },
  CouponHoldEnded: (coupon, event) => {
    const hold = coupon?.holds?.get(parseIssuedCouponId(event.data.issuedCouponId)?.sequence ?? 0);
    if (hold && hold.holdSequence === event.data.holdSequence && !hold.ended) hold.ended = event.data.reason;
    return coupon;
  },
  CouponsRevoked: (coupon, event) => {
    if (coupon) {
      let revoked = 0;
      for (const { issuedCouponId, userId } of event.data.revoked) {
        const sequence = parseIssuedCouponId(issuedCouponId)?.sequence;
        const r = sequence === undefined ? undefined : coupon.redemptions.get(sequence);
        if (sequence !== undefined && r?.state !== 'USED' && r?.state !== 'REVOKED') {
          coupon.redemptions.set(sequence, { state: 'REVOKED', at: Date.parse(event.occurredAt), generation: r?.generation ?? 0, orderId: r?.orderId ?? null, userId });
          // A revocation ends the coupon's hold with it: nothing can use it any more.
          const hold = coupon.holds?.get(sequence);
          if (hold && !hold.ended) hold.ended = 'REVOKED';
          revoked++;
        }
      }
      const { bucket } = event.data;
      if (bucket === undefined) coupon.revokedCount = Math.max(coupon.revokedCount, event.data.revokedCount);
      else {
        // Only what this copy revoked anew counts toward the coupon's sum; the bucket's own total is its nth.
        const counts = bucketState(coupon, bucket);
        counts.revokedCount = Math.max(counts.revokedCount, event.data.revokedCount);
        counts.unusedRevoked = true;
        coupon.revokedCount += revoked;
      }
      coupon.unusedRevoked = true;
    }
    return coupon;
  },
  CouponIssuanceClosed: (coupon) => {
    if (coupon) coupon.status = 'CLOSED';
    return coupon;
  },
  CouponEligibilityChanged: (coupon, event) => {
    if (coupon && event.data.bucket !== undefined) bucketTakes(coupon, event.data.bucket, undefined, event.data);
    else if (coupon && takesEffect(coupon, 'claims', event.data.revision)) {
      if (event.data.requiredClaims) coupon.requiredClaims = event.data.requiredClaims;
      else delete coupon.requiredClaims;
    }
    return coupon;
  },
  CouponAllowListChunkAdded: (coupon, event) => {
    const { version, userIds } = event.data;
    // A chunk of a list already replaced in, or of one a later upload superseded (a copy re-sent late), changes nothing.
    if (!coupon || (coupon.allowList && coupon.allowList.version >= version) || (coupon.staged && coupon.staged.version > version)) return coupon;
    if (coupon.staged?.version !== version) coupon.staged = { version, members: new Set() };
    for (const id of userIds) coupon.staged.members.add(id);
    coupon.allowListVersion = Math.max(coupon.allowListVersion, version);
    return coupon;
  },
  CouponAllowListReplaced: (coupon, event) => {
    const { version, bucket, revision } = event.data;
    if (coupon && bucket !== undefined) {
      const state = bucketState(coupon, bucket);
      if (revision > (state.allowList?.revision ?? 0)) state.allowList = { list: version === null ? undefined : listOf(coupon, version, revision), revision };
      pruneLists(coupon);
      return coupon;
    }
    if (!coupon || !takesEffect(coupon, 'allowList', revision)) return coupon;
    if (version === null) {
      delete coupon.allowList;
      delete coupon.staged;
    } else if (coupon.allowList?.version !== version) {
      const staged = coupon.staged?.version === version ? coupon.staged : undefined;
      // A bucket that announced this list before bucket 0's change was folded holds the same object, filled now.
      const announced = coupon.lists?.get(version)?.list;
      if (announced && staged) announced.members = staged.members;
      coupon.allowList = announced ?? staged ?? { version, members: new Set() };
      if (coupon.created) (coupon.lists ??= new Map()).set(version, { list: coupon.allowList, revision });
      delete coupon.staged;
      coupon.allowListVersion = Math.max(coupon.allowListVersion, version);
    }
    return coupon;
  },
  CouponIssueWindowChanged: (coupon, event) => {
    if (coupon && event.data.bucket !== undefined) bucketTakes(coupon, event.data.bucket, event.data, undefined);
    else if (coupon && takesEffect(coupon, 'window', event.data.revision)) {
      coupon.issueStartAt = Date.parse(event.data.issueStartAt);
      coupon.issueEndAt = Date.parse(event.data.issueEndAt);
    }
    return coupon;
  },
  CouponStockAdded: (coupon, event) => {
    // The total after the addition, not the addition: a copy of the event changes nothing.
    if (coupon) coupon.totalQuantity = Math.max(coupon.totalQuantity, event.data.totalQuantity);
    return coupon;
  },
  // Stock moving between a coupon's buckets changes what it may issue nowhere but in the buckets' ledgers (stock-ledger.ts).
  CouponStockMoved: (coupon) => coupon,
  // A bucket opened after a change holds the settings it opened with.
  CouponStockReceived: (coupon, event) => {
    if (coupon) bucketTakes(coupon, event.data.toBucket, event.data.window, event.data.eligibility);
    return coupon;
  },
  CouponQueueJoined: (coupon, event) => (foldQueue(coupon?.queue, event), coupon),
  CouponQueueShuffled: (coupon, event) => (foldQueue(coupon?.queue, event), coupon),
  CouponPassesGranted: (coupon, event) => (foldQueue(coupon?.queue, event), coupon),
  CouponPassesExpired: (coupon, event) => (foldQueue(coupon?.queue, event), coupon),
};

/** A coupon created with a currency: its money, and an empty budget when it has one. */
function moneyState(definition: EventOf<'CouponCreated'>['data']): Pick<AdmissionCoupon, 'money' | 'budget'> {
  const money = moneyOf(definition);
  if (!money) return {};
  return money.budgetMinor === undefined ? { money } : { money, budget: { spentMinor: 0, revision: 0 } };
}

/** The budget after a use or its cancellation, taken only over an older change of it. */
function spend(coupon: AdmissionCoupon, after: { budgetSpentMinor?: number; budgetRevision?: number }): void {
  if (coupon.budget && after.budgetRevision !== undefined && after.budgetSpentMinor !== undefined && after.budgetRevision > coupon.budget.revision) {
    coupon.budget = { spentMinor: after.budgetSpentMinor, revision: after.budgetRevision };
  }
}

/** List `version` of a coupon split into stock buckets, as bucket 0 put it in force (or will: kept for its change at `revision`). */
function listOf(coupon: AdmissionCoupon, version: number, revision: number): AllowList {
  coupon.lists ??= new Map();
  let kept = coupon.lists.get(version);
  if (!kept) {
    const list = coupon.allowList?.version === version ? coupon.allowList : coupon.staged?.version === version ? coupon.staged : { version, members: new Set<string>() };
    coupon.lists.set(version, (kept = { list, revision }));
  }
  return kept.list;
}

/**
 * Drops the lists no bucket can take any more: a bucket takes a change only over an older revision, so a list whose
 * change is older than every other bucket's newest is never announced again (bucket 0's own list stays).
 */
function pruneLists(coupon: AdmissionCoupon): void {
  if (!coupon.lists || !coupon.bucketCount) return;
  let floor = Number.POSITIVE_INFINITY;
  for (let b = 1; b < coupon.bucketCount; b++) floor = Math.min(floor, coupon.buckets?.get(b)?.allowList?.revision ?? 0);
  for (const [version, kept] of coupon.lists) if (kept.revision < floor && kept.list !== coupon.allowList) coupon.lists.delete(version);
}

/** A window or claims change reaching stock bucket `bucket`, each taken only over an older revision there. */
function bucketTakes(
  coupon: AdmissionCoupon, bucket: number, window: { issueStartAt: string; issueEndAt: string; revision: number } | undefined,
  claims: { requiredClaims: RequiredClaims | null; revision: number } | undefined,
): void {
  const state = bucketState(coupon, bucket);
  if (window && window.revision > (state.window?.revision ?? 0)) {
    state.window = { issueStartAt: Date.parse(window.issueStartAt), issueEndAt: Date.parse(window.issueEndAt), revision: window.revision };
  }
  if (claims && claims.revision > (state.claims?.revision ?? 0)) state.claims = { requiredClaims: claims.requiredClaims ?? undefined, revision: claims.revision };
}

/**
 * Folds what the log says happened into the coupon's state. Every event is idempotent here: a copy of one already
 * folded (the relay may put an event in the log twice, or late) changes nothing.
 */
export function evolve(coupon: AdmissionCoupon | undefined, event: CouponEvent): AdmissionCoupon | undefined {
  return (FOLDS[event.type] as (coupon: AdmissionCoupon | undefined, event: CouponEvent) => AdmissionCoupon | undefined)(coupon, event);
}
