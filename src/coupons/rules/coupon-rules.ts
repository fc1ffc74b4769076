import type { CouponEvent, RequiredClaims } from '../../events/coupon-events.ts';
import type { EligibilityClaims } from '../../auth/identity.ts';
import { parseIssuedCouponId } from '../ids.ts';

/**
 * The coupon's rules, stated once: `decide(command, state, now)` says what a command may do, `evolve(state,
 * event)` folds what the log says happened, and the status functions say where a coupon and an issued coupon
 * stand. The Lua scripts in `../admission` are the atomic executor of `decide` (a random test holds the two to
 * the same answers); restore folds the log with `evolve`; the auditor checks every recorded event was a decision
 * `decide` allows; every view takes its status from here.
 */
export interface AdmissionCoupon {
  couponId: string;
  status: 'ACTIVE' | 'CLOSED';
  totalQuantity: number;
  issued: number;
  /** Uses ever made (the nth use is CouponUsed's useSequence); cancellations and revocations counted apart. */
  usedCount: number;
  cancelledCount: number;
  revokedCount: number;
  issueStartAt: number;
  issueEndAt: number;
  validFrom: number;
  validUntil: number;
  /** userId → sequence of the coupon issued to them */
  holders: Map<string, number>;
  /** sequence → what became of that issued coupon; absent while it was never used nor revoked */
  redemptions: Map<number, Redemption>;
  /** Claims a caller must carry to be issued it; none when absent. */
  requiredClaims?: RequiredClaims;
  /** The allow-list in force; anyone when absent. */
  allowList?: { version: number; members: Set<string> };
  /** The allow-list being uploaded, not yet in force. */
  staged?: { version: number; members: Set<string> };
  /** The highest allow-list version any event named: the next upload is numbered after it. */
  allowListVersion: number;
  /** Revoke-unused has run: a use cancelled from now on leaves its coupon REVOKED, not usable again. */
  unusedRevoked?: true;
  /** The revision of the last change applied to each setting (see `takesEffect`); none applied yet when absent. */
  revisions?: SettingRevisions;
}

export type Setting = 'window' | 'claims' | 'allowList';
export type SettingRevisions = Record<Setting, number>;

/** The coupon's setting revision: the highest any setting reached, where the next change continues. */
export const settingRevision = (c: Pick<AdmissionCoupon, 'revisions'>): number => Math.max(0, ...Object.values(c.revisions ?? {}));

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

/** Whether a caller qualifies: every required claim carries an allowed value, and they are on the allow-list in force. */
export function isEligible(coupon: Pick<AdmissionCoupon, 'requiredClaims' | 'allowList'>, userId: string, claims: EligibilityClaims = {}): boolean {
  for (const [name, allowed] of Object.entries(coupon.requiredClaims ?? {})) {
    // Own claims only: a claim named `constructor` or `toString` is not the object's prototype.
    const held = Object.hasOwn(claims, name) ? claims[name] : undefined;
    const values = typeof held === 'string' ? [held] : Array.isArray(held) ? held : [];
    if (!values.some((v) => allowed.includes(v))) return false;
  }
  return !coupon.allowList || coupon.allowList.members.has(userId);
}

/** The caller's claims the coupon's rules looked at: what a CouponIssued records. */
export function qualifyingClaims(requiredClaims: RequiredClaims | undefined, claims: EligibilityClaims): EligibilityClaims | undefined {
  if (!requiredClaims) return undefined;
  return Object.fromEntries(Object.keys(requiredClaims).flatMap((name) => (Object.hasOwn(claims, name) ? [[name, claims[name]!]] : [])));
}

/**
 * An issued coupon's redemption: in use, its last use cancelled (usable again), or revoked. `generation` is
 * the nth use of this issued coupon, so a copy of an older use or cancellation is told from a new one; a
 * revoked coupon that had a use (generation above 0) keeps the order of that cancelled use.
 */
export type Redemption =
  | { state: 'USED'; at: number; generation: number; orderId: string | null }
  | { state: 'CANCELLED'; generation: number; orderId: string | null }
  | { state: 'REVOKED'; at: number; generation: number; orderId: string | null };

/** Who asks: a user (for their own coupons), the order system (`service`), or an admin. */
export type Principal = 'user' | 'service' | 'admin';

/**
 * Who may do what beyond their own reads. A person (a user, or an admin) is issued coupons for themselves; the
 * order system is not a person and holds none. A holder uses their own coupon; the order system and an admin use
 * one on a holder's behalf (naming the holder) and cancel a use, because a cancellation gives the discount back
 * and only the order system knows the order was really cancelled.
 */
export const AUTHORITY = {
  issue: ['user', 'admin'],
  useOnBehalf: ['service', 'admin'],
  cancelUse: ['service', 'admin'],
} as const satisfies Record<string, readonly Principal[]>;

export const may = (principal: Principal, act: keyof typeof AUTHORITY): boolean => (AUTHORITY[act] as readonly Principal[]).includes(principal);

/** Coupons in use now: uses made less uses cancelled. */
export const inUse = (c: Pick<AdmissionCoupon, 'usedCount' | 'cancelledCount'>): number => c.usedCount - c.cancelledCount;

export type IssueDecision =
  | { outcome: 'ISSUED'; sequence: number }
  | { outcome: 'ALREADY_ISSUED'; sequence: number }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_NOT_STARTED' | 'ISSUE_ENDED' | 'SOLD_OUT' | 'NOT_ELIGIBLE' };

export type UseDecision =
  | { outcome: 'USED'; generation: number }
  | { outcome: 'ALREADY_USED'; usedAt: number }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'COUPON_REVOKED' | 'COUPON_NOT_YET_VALID' | 'COUPON_EXPIRED' };

/** After a cancellation the coupon is ISSUED again inside its validity, EXPIRED after it, REVOKED once revoke-unused has run. */
export type AfterCancel = 'ISSUED' | 'EXPIRED' | 'REVOKED';
export type CancelUseDecision =
  | { outcome: 'USE_CANCELLED'; generation: number; status: AfterCancel }
  | { outcome: 'ALREADY_CANCELLED'; status: AfterCancel }
  | { outcome: 'ISSUED_COUPON_NOT_FOUND' | 'NOT_USED' | 'ORDER_MISMATCH' };

export type RevokeDecision = { outcome: 'REVOKED'; sequences: number[]; revokedCount: number } | { outcome: 'COUPON_NOT_FOUND' };

export type CloseDecision = { outcome: 'CLOSED' } | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' };

export type ChangeWindowDecision =
  | { outcome: 'WINDOW_CHANGED'; issueStartAt: number; issueEndAt: number }
  | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'ISSUE_STARTED' | 'WINDOW_INVALID' };

export type AddStockDecision = { outcome: 'STOCK_ADDED'; totalQuantity: number } | { outcome: 'COUPON_NOT_FOUND' | 'COUPON_CLOSED' | 'STOCK_LIMIT' };

/** The largest total a coupon may have, as at create. */
export const MAX_TOTAL_QUANTITY = 10_000_000;

/**
 * Before any rule but a replay, the scripts count the user's attempts at this decision on this coupon in
 * the current window (`attempts` includes this one); past the limit nothing is decided.
 */
export const overUserLimit = (attempts: number, limit: number): boolean => attempts > limit;

export type CouponCommand =
  | { type: 'IssueCoupon'; userId: string; claims?: EligibilityClaims }
  | { type: 'UseCoupon'; sequence: number; userId: string }
  /** By the order system or an admin (see AUTHORITY), for any holder. `orderId` null: the use named no order. */
  | { type: 'CancelUse'; sequence: number; orderId: string | null }
  /** One chunk of a revoke-unused run: these holders' coupons, each revoked if unused. */
  | { type: 'RevokeUnused'; holders: readonly (readonly [string, number])[] }
  | { type: 'CloseIssuance' }
  | { type: 'AddStock'; add: number }
  | { type: 'ChangeIssueWindow'; issueStartAt?: number; issueEndAt?: number };

export type Decision<C extends CouponCommand> = C extends { type: 'IssueCoupon' } ? IssueDecision
  : C extends { type: 'UseCoupon' } ? UseDecision
  : C extends { type: 'CancelUse' } ? CancelUseDecision
  : C extends { type: 'RevokeUnused' } ? RevokeDecision
  : C extends { type: 'AddStock' } ? AddStockDecision
  : C extends { type: 'ChangeIssueWindow' } ? ChangeWindowDecision
  : CloseDecision;

export function decide<C extends CouponCommand>(command: C, coupon: AdmissionCoupon | undefined, now: number): Decision<C> {
  switch (command.type) {
    case 'IssueCoupon':
      return decideIssue(coupon, command.userId, now, command.claims) as Decision<C>;
    case 'UseCoupon':
      return decideUse(coupon, command.sequence, command.userId, now) as Decision<C>;
    case 'CancelUse':
      return decideCancelUse(coupon, command, now) as Decision<C>;
    case 'RevokeUnused':
      return decideRevoke(coupon, command.holders) as Decision<C>;
    case 'CloseIssuance':
      return decideClose(coupon) as Decision<C>;
    case 'AddStock':
      return decideAddStock(coupon, command.add) as Decision<C>;
    case 'ChangeIssueWindow':
      return decideChangeWindow(coupon, command, now) as Decision<C>;
  }
  throw new Error(`no rule for ${(command as { type: string }).type}`);
}

/**
 * A holder retrying learns their coupon whatever else changed since; then closed, window, stock, eligibility,
 * in that order (eligibility last, so an answer given from memory for a sold-out or ended coupon is the one
 * the script would give anyone).
 */
export function decideIssue(coupon: AdmissionCoupon | undefined, userId: string, now: number, claims?: EligibilityClaims): IssueDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  const held = coupon.holders.get(userId);
  if (held !== undefined) return { outcome: 'ALREADY_ISSUED', sequence: held };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  if (now < coupon.issueStartAt) return { outcome: 'ISSUE_NOT_STARTED' };
  if (now >= coupon.issueEndAt) return { outcome: 'ISSUE_ENDED' };
  if (coupon.issued >= coupon.totalQuantity) return { outcome: 'SOLD_OUT' };
  if (!isEligible(coupon, userId, claims)) return { outcome: 'NOT_ELIGIBLE' };
  return { outcome: 'ISSUED', sequence: coupon.issued + 1 };
}

/** Someone else's coupon is indistinguishable from a missing one, so ids cannot be probed. */
export function decideUse(coupon: AdmissionCoupon | undefined, sequence: number, userId: string, now: number): UseDecision {
  if (!coupon || coupon.holders.get(userId) !== sequence) return { outcome: 'ISSUED_COUPON_NOT_FOUND' };
  const r = coupon.redemptions.get(sequence);
  if (r?.state === 'USED') return { outcome: 'ALREADY_USED', usedAt: r.at };
  if (r?.state === 'REVOKED') return { outcome: 'COUPON_REVOKED' };
  if (now < coupon.validFrom) return { outcome: 'COUPON_NOT_YET_VALID' };
  if (now >= coupon.validUntil) return { outcome: 'COUPON_EXPIRED' };
  return { outcome: 'USED', generation: (r?.generation ?? 0) + 1 };
}

/**
 * The order that used the coupon is cancelled: the use is undone if the cancellation names the same order
 * (none for a use that named none). Asked again for the same order, it answers as the first time did; the
 * same order using it again is a new use, which the same cancellation would undo again. Once revoke-unused
 * has run, a cancelled use leaves the coupon REVOKED: a campaign that was revoked stays revoked.
 */
export function decideCancelUse(coupon: AdmissionCoupon | undefined, cancel: { sequence: number; orderId: string | null }, now: number): CancelUseDecision {
  const { sequence, orderId } = cancel;
  if (coupon === undefined || sequence < 1 || sequence > coupon.issued) return { outcome: 'ISSUED_COUPON_NOT_FOUND' };
  const valid = now >= coupon.validUntil ? 'EXPIRED' : 'ISSUED';
  const r = coupon.redemptions.get(sequence);
  if (r?.state === 'USED') {
    return r.orderId === orderId ? { outcome: 'USE_CANCELLED', generation: r.generation, status: coupon.unusedRevoked ? 'REVOKED' : valid } : { outcome: 'ORDER_MISMATCH' };
  }
  if (r?.state === 'CANCELLED' && r.orderId === orderId) return { outcome: 'ALREADY_CANCELLED', status: valid };
  if (r?.state === 'REVOKED' && r.generation > 0 && r.orderId === orderId) return { outcome: 'ALREADY_CANCELLED', status: 'REVOKED' };
  return { outcome: 'NOT_USED' };
}

/**
 * Revokes each named holder's coupon that is not in use (never used, or its use cancelled); one in use, or
 * already revoked, is left as it is. Stock is not given back. `revokedCount` is the coupon's total after.
 */
export function decideRevoke(coupon: AdmissionCoupon | undefined, holders: readonly (readonly [string, number])[]): RevokeDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  const sequences = new Set<number>();
  for (const [userId, sequence] of holders) {
    const state = coupon.redemptions.get(sequence)?.state;
    if (coupon.holders.get(userId) === sequence && state !== 'USED' && state !== 'REVOKED') sequences.add(sequence);
  }
  return { outcome: 'REVOKED', sequences: [...sequences], revokedCount: coupon.revokedCount + sequences.size };
}

export function decideClose(coupon: AdmissionCoupon | undefined): CloseDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  return { outcome: 'CLOSED' };
}

/**
 * Stock only grows, and a closed coupon never admits again, so adding to it means nothing. A sold-out coupon
 * given stock admits again.
 */
export function decideAddStock(coupon: AdmissionCoupon | undefined, add: number): AddStockDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  if (coupon.totalQuantity + add > MAX_TOTAL_QUANTITY) return { outcome: 'STOCK_LIMIT' };
  return { outcome: 'STOCK_ADDED', totalQuantity: coupon.totalQuantity + add };
}

/**
 * The end may move either way, to any future instant within validity; the start only while issuing has not
 * begun (a window that opened stays opened). A closed coupon has no window to move.
 */
export function decideChangeWindow(coupon: AdmissionCoupon | undefined, change: { issueStartAt?: number; issueEndAt?: number }, now: number): ChangeWindowDecision {
  if (!coupon) return { outcome: 'COUPON_NOT_FOUND' };
  if (coupon.status === 'CLOSED') return { outcome: 'COUPON_CLOSED' };
  const issueStartAt = change.issueStartAt ?? coupon.issueStartAt;
  const issueEndAt = change.issueEndAt ?? coupon.issueEndAt;
  if (issueStartAt !== coupon.issueStartAt && now >= coupon.issueStartAt) return { outcome: 'ISSUE_STARTED' };
  if (issueStartAt >= issueEndAt || issueEndAt > coupon.validUntil || issueEndAt <= now) return { outcome: 'WINDOW_INVALID' };
  return { outcome: 'WINDOW_CHANGED', issueStartAt, issueEndAt };
}

export function evolve(coupon: AdmissionCoupon | undefined, event: CouponEvent): AdmissionCoupon | undefined {
  switch (event.type) {
    case 'CouponCreated':
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
      };
    case 'CouponIssued': {
      const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
      if (!coupon || sequence === undefined || coupon.holders.has(event.data.userId)) return coupon;
      coupon.holders.set(event.data.userId, sequence);
      coupon.issued = Math.max(coupon.issued, sequence);
      return coupon;
    }
    case 'CouponUsed': {
      // A use is news only when it is a later generation than any seen: a copy of an earlier one, even after its cancellation, changes nothing.
      const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
      const { useGeneration: generation, orderId } = event.data;
      if (coupon && sequence !== undefined && (coupon.redemptions.get(sequence)?.generation ?? 0) < generation) {
        coupon.redemptions.set(sequence, { state: 'USED', at: Date.parse(event.occurredAt), generation, orderId });
        coupon.usedCount = Math.max(coupon.usedCount, event.data.useSequence);
      }
      return coupon;
    }
    case 'CouponUseCancelled': {
      const sequence = parseIssuedCouponId(event.data.issuedCouponId)?.sequence;
      const r = sequence === undefined ? undefined : coupon?.redemptions.get(sequence);
      if (coupon && r?.state === 'USED' && r.generation === event.data.useGeneration) {
        const { revokedCount } = event.data;
        coupon.redemptions.set(sequence!, revokedCount
          ? { state: 'REVOKED', at: Date.parse(event.occurredAt), generation: r.generation, orderId: r.orderId }
          : { state: 'CANCELLED', generation: r.generation, orderId: r.orderId });
        coupon.cancelledCount = Math.max(coupon.cancelledCount, event.data.cancelSequence);
        coupon.revokedCount = Math.max(coupon.revokedCount, revokedCount ?? 0);
      }
      return coupon;
    }
    case 'CouponsRevoked':
      if (coupon) {
        for (const { issuedCouponId } of event.data.revoked) {
          const sequence = parseIssuedCouponId(issuedCouponId)?.sequence;
          const r = sequence === undefined ? undefined : coupon.redemptions.get(sequence);
          if (sequence !== undefined && r?.state !== 'USED' && r?.state !== 'REVOKED') {
            coupon.redemptions.set(sequence, { state: 'REVOKED', at: Date.parse(event.occurredAt), generation: r?.generation ?? 0, orderId: r?.orderId ?? null });
          }
        }
        coupon.revokedCount = Math.max(coupon.revokedCount, event.data.revokedCount);
        coupon.unusedRevoked = true;
      }
      return coupon;
    case 'CouponIssuanceClosed':
      if (coupon) coupon.status = 'CLOSED';
      return coupon;
    case 'CouponEligibilityChanged':
      if (coupon && takesEffect(coupon, 'claims', event.data.revision)) {
        if (event.data.requiredClaims) coupon.requiredClaims = event.data.requiredClaims;
        else delete coupon.requiredClaims;
      }
      return coupon;
    case 'CouponAllowListChunkAdded': {
      const { version, userIds } = event.data;
      // A chunk of a list already replaced in, or of one a later upload superseded (a copy re-sent late), changes nothing.
      if (!coupon || (coupon.allowList && coupon.allowList.version >= version) || (coupon.staged && coupon.staged.version > version)) return coupon;
      if (coupon.staged?.version !== version) coupon.staged = { version, members: new Set() };
      for (const id of userIds) coupon.staged.members.add(id);
      coupon.allowListVersion = Math.max(coupon.allowListVersion, version);
      return coupon;
    }
    case 'CouponAllowListReplaced': {
      const { version } = event.data;
      if (!coupon || !takesEffect(coupon, 'allowList', event.data.revision)) return coupon;
      if (version === null) {
        delete coupon.allowList;
        delete coupon.staged;
      } else if (coupon.allowList?.version !== version) {
        coupon.allowList = coupon.staged?.version === version ? coupon.staged : { version, members: new Set() };
        delete coupon.staged;
        coupon.allowListVersion = Math.max(coupon.allowListVersion, version);
      }
      return coupon;
    }
    case 'CouponIssueWindowChanged':
      if (coupon && takesEffect(coupon, 'window', event.data.revision)) {
        coupon.issueStartAt = Date.parse(event.data.issueStartAt);
        coupon.issueEndAt = Date.parse(event.data.issueEndAt);
      }
      return coupon;
    case 'CouponStockAdded':
      // The total after the addition, not the addition: a copy of the event changes nothing.
      if (coupon) coupon.totalQuantity = Math.max(coupon.totalQuantity, event.data.totalQuantity);
      return coupon;
  }
}

export const COUPON_STATUSES = ['SCHEDULED', 'OPEN', 'SOLD_OUT', 'ENDED', 'CLOSED'] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

/** Where a coupon stands for someone who wants one at `now`: the issue rules' refusals, in their order. */
export function couponStatus(c: { closed: boolean; issuedCount: number; definition: { totalQuantity: number; issueStartAt: string; issueEndAt: string } }, now: number): CouponStatus {
  if (c.closed) return 'CLOSED';
  if (now < Date.parse(c.definition.issueStartAt)) return 'SCHEDULED';
  if (now >= Date.parse(c.definition.issueEndAt)) return 'ENDED';
  if (c.issuedCount >= c.definition.totalQuantity) return 'SOLD_OUT';
  return 'OPEN';
}

export const ISSUED_COUPON_STATUSES = ['ISSUED', 'USED', 'EXPIRED', 'REVOKED'] as const;
export type IssuedCouponStatus = (typeof ISSUED_COUPON_STATUSES)[number];

/** What a holder's coupon is at `now`: USED while in use, REVOKED once revoked; an unused one is EXPIRED from the end of its validity on, as decideUse refuses it. */
export function issuedCouponStatus(row: { status: string; validUntil: Date }, now: Date): IssuedCouponStatus {
  if (row.status === 'USED' || row.status === 'REVOKED') return row.status;
  return row.validUntil <= now ? 'EXPIRED' : 'ISSUED';
}
