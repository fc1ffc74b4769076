import type { EligibilityClaims } from '../../auth/identity.ts';
import { issuedCouponId } from '../../ids/ids.ts';
import { settledAnswer, type AdmissionCoupon, type BucketState } from './coupon-state.ts';
import { isEligible, qualifyingClaims } from './eligibility.ts';
import { refused, type EventDraft } from './event-draft.ts';
import { passRefusal, type ShownPass } from './queue-rules.ts';
import { lapseOf, liveHold } from './decide-holds.ts';
import { unusable } from './usable.ts';
import { grantFor, type GrantRefusal } from './money.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export type IssueDecision =
  | { outcome: 'ISSUED'; sequence: number; events: EventDraft[] }
  | { outcome: 'ALREADY_ISSUED'; sequence: number; events: [] }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_NOT_STARTED' | 'ISSUE_ENDED' | 'SOLD_OUT' | 'NOT_ELIGIBLE' | 'IDENTITY_REQUIRED' | 'PERSON_ALREADY_ISSUED' | 'HUMAN_CHECK_FAILED' | 'PASS_REQUIRED' | 'PASS_EXPIRED'; events: [] };

export type UseDecision =
  /** `holdSequence`: the hold the use confirmed, when its order held the coupon. */
  | { outcome: 'USED'; generation: number; holdSequence?: number; discountMinor?: number; events: EventDraft[] }
  | { outcome: 'ALREADY_USED'; usedAt: number; events: [] }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_REVOKED' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED' | 'HELD_ELSEWHERE' | GrantRefusal; events: [] };

/** After a cancellation the coupon is ISSUED again inside its validity, EXPIRED after it, REVOKED once revoke-unused has run. */
export type AfterCancel = 'ISSUED' | 'EXPIRED' | 'REVOKED';
export type CancelUseDecision =
  | { outcome: 'USE_CANCELLED'; generation: number; status: AfterCancel; events: EventDraft[] }
  | { outcome: 'ALREADY_CANCELLED'; status: AfterCancel; events: [] }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'NOT_USED' | 'ORDER_MISMATCH'; events: [] };

export type RevokeDecision = { outcome: 'REVOKED'; sequences: number[]; revokedCount: number; events: EventDraft[] } | { outcome: 'COUPON_NOT_FOUND'; events: [] };

/**
 * On a coupon behind the bot gate, an asker without a passed human check is refused before anything (the script
 * counts no attempt for them). A holder retrying learns their coupon whatever else changed since; then closed, window, stock, eligibility,
 * in that order (eligibility last, so an answer given from memory for a sold-out or ended coupon is the one
 * the script would give anyone); on a coupon limited one per person, then the person: their token must name one,
 * and a person holding it under another account is not issued a second; in queue mode, last, their pass.
 */
export function decideIssue(coupon: AdmissionCoupon | undefined, userId: string, now: number, claims: EligibilityClaims = {}, human = false, pass?: ShownPass): IssueDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  if (coupon.humanCheck && !human) return refused('HUMAN_CHECK_FAILED');
  const held = coupon.holders.get(userId);
  if (held !== undefined) return { outcome: 'ALREADY_ISSUED', sequence: held, events: [] };
  const settled = settledAnswer(coupon, now);
  if (settled) return refused(settled);
  if (!isEligible(coupon, userId, claims)) return refused('NOT_ELIGIBLE');
  const person = coupon.onePer === undefined ? undefined : claims[coupon.onePer];
  if (coupon.onePer !== undefined && (typeof person !== 'string' || person === '')) return refused('IDENTITY_REQUIRED');
  if (typeof person === 'string' && coupon.persons?.has(person)) return refused('PERSON_ALREADY_ISSUED');
  const noPass = passRefusal(coupon.queue, typeof person === 'string' ? person : userId, pass, now);
  if (noPass) return refused(noPass);
  const sequence = coupon.issued + 1;
  const qualifying = qualifyingClaims(coupon.requiredClaims, claims);
  return {
    outcome: 'ISSUED', sequence,
    events: [{ type: 'CouponIssued', data: {
      issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId, validFrom: iso(coupon.validFrom), validUntil: iso(coupon.validUntil),
      ...(qualifying ? { claims: qualifying } : {}), ...(typeof person === 'string' ? { person } : {}),
    } }],
  };
}

/**
 * Someone else's coupon is indistinguishable from a missing one, so ids cannot be probed. While a checkout holds it
 * (decide-holds.ts), only the holding order may use it, and that use confirms the hold; a lapsed hold is ended first.
 */
export function decideUse(
  coupon: AdmissionCoupon | undefined, use: { sequence: number; userId: string; orderId?: string | null; order?: { totalMinor: number; currency: string } }, now: number,
): UseDecision {
  const { sequence, userId } = use;
  const refusal = unusable(coupon, sequence, userId, now);
  if (refusal || !coupon) return refusal ?? refused('ISSUED_COUPON_NOT_FOUND');
  const r = coupon.redemptions.get(sequence);
  const orderId = use.orderId ?? null;
  const hold = liveHold(coupon, sequence, now);
  if (hold && hold.orderId !== orderId) return refused('HELD_ELSEWHERE');
  const grant = coupon.money && grantFor(coupon.money, coupon.budget?.spentMinor ?? 0, use.order);
  if (grant && 'refusal' in grant) return refused(grant.refusal);
  const generation = (r?.generation ?? 0) + 1;
  const data = {
    issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId, useSequence: coupon.usedCount + 1, orderId, useGeneration: generation,
    ...(hold ? { holdSequence: hold.holdSequence } : {}),
    ...(grant ? { discountMinor: grant.discountMinor, orderTotalMinor: use.order!.totalMinor, currency: coupon.money!.currency } : {}),
    ...(grant && coupon.budget ? { budgetSpentMinor: coupon.budget.spentMinor + grant.discountMinor, budgetRevision: coupon.budget.revision + 1 } : {}),
  };
  return {
    outcome: 'USED', generation, ...(hold ? { holdSequence: hold.holdSequence } : {}), ...(grant ? { discountMinor: grant.discountMinor } : {}),
    events: [...lapseOf(coupon, sequence, now), { type: 'CouponUsed', data }],
  };
}

/**
 * What cancellations and revocations are numbered by: the coupon's own counts, or on a coupon split into stock
 * buckets the counts of the bucket that decides (the holder's home bucket), where revoke-unused is in force once
 * the run has reached that bucket.
 */
function countsOf(coupon: AdmissionCoupon, bucket: number | undefined): Pick<BucketState, 'cancelledCount' | 'revokedCount' | 'unusedRevoked'> {
  if (bucket === undefined) return coupon;
  return coupon.buckets?.get(bucket) ?? { cancelledCount: 0, revokedCount: 0 };
}

/**
 * The order that used the coupon is cancelled: the use is undone if the cancellation names the same order
 * (none for a use that named none). Asked again for the same order, it answers as the first time did; the
 * same order using it again is a new use, which the same cancellation would undo again. Once revoke-unused
 * has run, a cancelled use leaves the coupon REVOKED: a campaign that was revoked stays revoked.
 */
export function decideCancelUse(coupon: AdmissionCoupon | undefined, cancel: { sequence: number; orderId: string | null; bucket?: number }, now: number): CancelUseDecision {
  const { sequence, orderId, bucket } = cancel;
  // A bucket's sequences come from its ranges, not in issue order: any of the total may be issued.
  const bound = bucket === undefined ? coupon?.issued ?? 0 : coupon?.totalQuantity ?? 0;
  if (coupon === undefined || sequence < 1 || sequence > bound) return refused('ISSUED_COUPON_NOT_FOUND');
  const valid = now >= coupon.validUntil ? 'EXPIRED' : 'ISSUED';
  const r = coupon.redemptions.get(sequence);
  if (r?.state === 'CANCELLED' && r.orderId === orderId) return { outcome: 'ALREADY_CANCELLED', status: valid, events: [] };
  if (r?.state === 'REVOKED' && r.generation > 0 && r.orderId === orderId) return { outcome: 'ALREADY_CANCELLED', status: 'REVOKED', events: [] };
  if (r?.state !== 'USED') return refused('NOT_USED');
  if (r.orderId !== orderId) return refused('ORDER_MISMATCH');
  const counts = countsOf(coupon, bucket);
  const revokes = counts.unusedRevoked === true;
  const data = {
    issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId: r.userId, orderId, useGeneration: r.generation, cancelSequence: counts.cancelledCount + 1,
    ...(revokes ? { revokedCount: counts.revokedCount + 1 } : {}), ...(bucket === undefined ? {} : { bucket }),
    // The grant of the use undone goes back to the budget.
    ...(coupon.budget && r.discountMinor !== undefined ? { budgetSpentMinor: coupon.budget.spentMinor - r.discountMinor, budgetRevision: coupon.budget.revision + 1 } : {}),
  };
  return { outcome: 'USE_CANCELLED', generation: r.generation, status: revokes ? 'REVOKED' : valid, events: [{ type: 'CouponUseCancelled', data }] };
}

/**
 * Revokes each named holder's coupon that is not in use (never used, or its use cancelled); one in use, or
 * already revoked, is left as it is. Stock is not given back. `revokedCount` is the coupon's total after. A
 * run's first chunk is recorded even when it revokes nothing: from it on, revoke-unused is in force.
 */
export function decideRevoke(coupon: AdmissionCoupon | undefined, holders: readonly (readonly [string, number])[], bucket?: number): RevokeDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  const revoked: { issuedCouponId: string; userId: string }[] = [];
  const sequences = new Set<number>();
  for (const [userId, sequence] of holders) {
    const state = coupon.redemptions.get(sequence)?.state;
    if (coupon.holders.get(userId) !== sequence || state === 'USED' || state === 'REVOKED' || sequences.has(sequence)) continue;
    sequences.add(sequence);
    revoked.push({ issuedCouponId: issuedCouponId(coupon.couponId, sequence), userId });
  }
  const counts = countsOf(coupon, bucket);
  const revokedCount = counts.revokedCount + revoked.length;
  const recorded = revoked.length > 0 || !counts.unusedRevoked;
  const data = { revoked, revokedCount, ...(bucket === undefined ? {} : { bucket }) };
  return { outcome: 'REVOKED', sequences: [...sequences], revokedCount, events: recorded ? [{ type: 'CouponsRevoked', data }] : [] };
}
