import { issuedCouponId, parseIssuedCouponId } from '../ids/ids.ts';
import { decide, evolve, type AdmissionCoupon, type Redemption } from '../coupons/rules/coupon-rules.ts';
import type { CouponEvent, EventOf, RequiredClaims } from '../events/coupon-events.ts';
import { StockLedger } from '../coupons/rules/stock-ledger.ts';
import { isQueueEvent, judgeQueue, queueCopy } from './queue-auditor.ts';
import { holdCopy, isHoldEvent, judgeHold } from './hold-auditor.ts';
import { isErased } from '../privacy/sealed-fields.ts';

export interface ReplayedCoupon {
  couponId: string;
  definition?: EventOf<'CouponCreated'>['data'];
  createdBy?: string;
  closedAt?: Date;
  closedBy?: string;
  /** issuedCouponId → holder and the event that issued it */
  issued: Map<string, { userId: string; sequence: number; eventId: string }>;
  /** issuedCouponId → the events that made its latest use and cancelled it (so a copy is known; the use itself is in `state`) */
  useEvents: Map<string, { usedBy: string; cancelledBy?: string }>;
  /** The admin changes recorded (stock, window, revocations, eligibility, allow-lists), by event id (so a copy is known). */
  changedBy?: Set<string>;
  /** The rules' state, folded by the rules' own evolve: among the rest, each holder's sequence (user → #) and each redemption. */
  state?: AdmissionCoupon;
  /** A coupon split into stock buckets: which bucket holds which unissued sequences. */
  ledger?: StockLedger;
  /**
   * A coupon split into stock buckets: each window and claims change by `<setting>@<revision>`, as first seen in the
   * log (bucket 0's change, or a bucket's announcement of it, whichever came first): every other must say the same.
   */
  settings?: Map<string, string>;
}

/** A window or claims change in a form two events of the same change agree on (claims by name, in order). */
function settingOf(
  setting: 'window' | 'claims' | 'allowList', value: { issueStartAt: string; issueEndAt: string } | { requiredClaims: RequiredClaims | null } | { version: number | null },
): string {
  if ('version' in value) return String(value.version);
  if (setting === 'window' && 'issueStartAt' in value) return `${Date.parse(value.issueStartAt)}-${Date.parse(value.issueEndAt)}`;
  const claims = 'requiredClaims' in value ? value.requiredClaims : null;
  return JSON.stringify(claims ? Object.entries(claims).sort(([a], [b]) => a.localeCompare(b)) : null);
}

/** A violation that stops the event from being folded (folding it would mislead what follows). */
const stopping = (violation: (what: string) => void) => (what: string): false => { violation(what); return false; };

/**
 * Folds the log event by event and checks that each recorded change is one the rules (coupon-rules.ts) allow
 * at the time it happened: a refusal `decide` would have given is named as the invariant it breaks. A copy of an event
 * already seen (relay redelivery) is counted and otherwise ignored, as every projection ignores it. A copy
 * is recognised by the fact it would record again (the issue, use, creation or close it names was recorded
 * by an event with its id), so no set of every event id is kept: memory is the coupons' own state.
 */
export class HistoryAuditor {
  readonly coupons = new Map<string, ReplayedCoupon>();
  readonly violations: string[] = [];
  events = 0;
  duplicates = 0;

  private isCopy(event: CouponEvent): boolean {
    const c = this.coupons.get(event.couponId);
    if (isQueueEvent(event)) return queueCopy(c?.state?.queue, event, c?.changedBy);
    if (isHoldEvent(event)) return holdCopy(event, c?.state);
    switch (event.type) {
      case 'CouponCreated': return c?.createdBy === event.eventId;
      case 'CouponIssued': return c?.issued.get(event.data.issuedCouponId)?.eventId === event.eventId;
      case 'CouponUsed':
      case 'CouponUseCancelled': {
        // An older generation's use or cancellation can only be a copy re-sent with the run after it; the latest one, by its id.
        const generation = c?.state?.redemptions.get(parseIssuedCouponId(event.data.issuedCouponId)?.sequence ?? 0)?.generation ?? 0;
        const last = c?.useEvents.get(event.data.issuedCouponId);
        const recordedBy = event.type === 'CouponUsed' ? last?.usedBy : last?.cancelledBy;
        return event.data.useGeneration < generation || recordedBy === event.eventId;
      }
      case 'CouponIssuanceClosed': return c?.closedBy === event.eventId;
      case 'CouponStockAdded':
      case 'CouponIssueWindowChanged':
      case 'CouponsRevoked':
      case 'CouponEligibilityChanged':
      case 'CouponAllowListChunkAdded':
      case 'CouponAllowListReplaced': return c?.changedBy?.has(event.eventId) ?? false;
      case 'CouponStockMoved':
      default: return c?.ledger?.knows(event.type, event.data.transferId) ?? false;
    }
  }

  add(event: CouponEvent): void {
    if (this.isCopy(event)) {
      this.duplicates++;
      return;
    }
    this.events++;
    const at = new Date(event.occurredAt);
    const c = this.coupons.get(event.couponId);
    const violation = (what: string): void => void this.violations.push(`${event.couponId} ${event.type} ${event.eventId} at ${event.occurredAt}: ${what}`);

    if (event.type === 'CouponCreated') {
      if (c?.definition) return violation('created twice');
      this.coupons.set(event.couponId, {
        ...(c ?? { couponId: event.couponId, issued: new Map(), useEvents: new Map() }), definition: event.data, createdBy: event.eventId,
        state: evolve(undefined, event), ...((event.data.buckets ?? 1) > 1 ? { ledger: new StockLedger(event.data.totalQuantity) } : {}),
      });
      return;
    }
    if (!c?.definition) return violation('happened to a coupon that was never created');
    const before = c.state;

    if (isQueueEvent(event)) judgeQueue(event, before, violation, (c.changedBy ??= new Set()));
    else if (isHoldEvent(event)) judgeHold(event, before!, violation);
    else if (!this.judgeRedemption(event, c, before, at, violation) || !this.judgeSetting(event, c, before, at, violation)) return;
    c.state = evolve(before, event);
  }

  /** An issue, a use, a cancellation or a revocation, judged by the rules at its instant. False: the event breaks a rule so that folding it would mislead what follows. */
  private judgeRedemption(event: CouponEvent, c: ReplayedCoupon, before: AdmissionCoupon | undefined, at: Date, violation: (what: string) => void): boolean {
    switch (event.type) {
    case 'CouponIssued': return this.judgeIssue(event, c, before, at, violation);
    case 'CouponUsed': return this.judgeUse(event, c, before, at, violation);
    case 'CouponUseCancelled': return this.judgeCancel(event, c, before, at, violation);
    case 'CouponsRevoked': this.judgeRevoke(event, c, before, at, violation); return true;
    default: return true;
    }
  }

  private judgeIssue(event: Extract<CouponEvent, { type: 'CouponIssued' }>, c: ReplayedCoupon, before: AdmissionCoupon | undefined, at: Date, violation: (what: string) => void): boolean {
    const { issuedCouponId, userId } = event.data;
    if (c.issued.has(issuedCouponId)) {
      violation(`${issuedCouponId} issued twice`);
      return false;
    }
    // The person claim the holder's token carried, beside the claims that qualified them.
    const claims = { ...event.data.claims, ...(before?.onePer !== undefined && event.data.person !== undefined ? { [before.onePer]: event.data.person } : {}) };
    // Whether the holder passed a human check is not logged: an issue the script made passed it.
    const pass = { person: event.data.person ?? userId, expiresAtMs: Number.POSITIVE_INFINITY };
    const decided = decide({ type: 'IssueCoupon', userId, claims, human: true, pass, ...(event.data.bucket ? { bucket: event.data.bucket } : {}) }, before, at.getTime());
    switch (decided.outcome) {
      // An erased holder's claims and pass read as placeholders: what qualified them is forgotten with them.
      case 'NOT_ELIGIBLE': if (!isErased(userId)) violation(`issued to ${userId}, who did not meet its conditions`); break;
      case 'ALREADY_ISSUED': violation(`second coupon for user ${userId}`); break;
      case 'COUPON_CLOSED': violation('issued after issuing was closed'); break;
      case 'ISSUE_NOT_STARTED': case 'ISSUE_ENDED': violation('issued outside the issue window'); break;
      case 'SOLD_OUT': violation(`over-issued: ${before!.issued + 1} of ${before!.totalQuantity}`); break;
      case 'IDENTITY_REQUIRED': violation(`issued to ${userId} without the person claim the coupon is limited by`); break;
      case 'PERSON_ALREADY_ISSUED': violation(`second coupon for person ${event.data.person} (as user ${userId})`); break;
      case 'PASS_REQUIRED': case 'PASS_EXPIRED': if (!isErased(userId)) violation(`issued to ${pass.person} without a live pass`); break;
    }
    if (event.data.bucket !== undefined) {
      const wrong = c.ledger ? c.ledger.issued(event.data.bucket, parseIssuedCouponId(issuedCouponId)?.sequence ?? 0) : 'issued by a stock bucket of a coupon not split into buckets';
      if (wrong) violation(wrong);
    }
    c.issued.set(issuedCouponId, { userId, sequence: parseIssuedCouponId(issuedCouponId)?.sequence ?? 0, eventId: event.eventId });
    return true;
  }

  private judgeUse(event: Extract<CouponEvent, { type: 'CouponUsed' }>, c: ReplayedCoupon, before: AdmissionCoupon | undefined, at: Date, violation: (what: string) => void): boolean {
    const stop = stopping(violation);
    const { issuedCouponId, userId } = event.data;
    const issued = c.issued.get(issuedCouponId);
    if (!issued) return stop(`${issuedCouponId} used but never issued`);
    const { orderTotalMinor: totalMinor, currency } = event.data;
    const order = totalMinor === undefined || currency === undefined ? undefined : { totalMinor, currency };
    const decided = decide({ type: 'UseCoupon', sequence: issued.sequence, userId, orderId: event.data.orderId, order }, before, at.getTime());
    switch (decided.outcome) {
      case 'HELD_ELSEWHERE': violation(`${issuedCouponId} used by order ${event.data.orderId} while another order held it`); break;
      case 'BUDGET_EXHAUSTED': case 'CURRENCY_MISMATCH': case 'ORDER_TOTAL_REQUIRED': violation(`${issuedCouponId} granted money the rules refuse: ${decided.outcome}`); break;
      case 'ISSUED_COUPON_NOT_FOUND': violation(`${issuedCouponId} used by ${userId}, not its holder ${issued.userId}`); break;
      case 'ALREADY_USED': return stop(`${issuedCouponId} used twice`);
      case 'COUPON_REVOKED': return stop(`${issuedCouponId} used after it was revoked`);
      case 'COUPON_NOT_YET_VALID': case 'COUPON_EXPIRED': violation(`${issuedCouponId} used outside its validity`); break;
      case 'USED':
        if (decided.generation !== event.data.useGeneration) violation(`${issuedCouponId} use says generation ${event.data.useGeneration}, the log before it ${decided.generation}`);
        if (decided.events.length > 1) violation(`${issuedCouponId} used over a lapsed hold that no event ended`);
        if (decided.discountMinor !== event.data.discountMinor) violation(`${issuedCouponId} granted ${event.data.discountMinor}, the rules ${decided.discountMinor}`);
        if (decided.holdSequence !== event.data.holdSequence) violation(`${issuedCouponId} use says it confirmed hold ${event.data.holdSequence}, the log before it ${decided.holdSequence}`);
    }
    c.useEvents.set(issuedCouponId, { usedBy: event.eventId });
    return true;
  }

  private judgeCancel(event: Extract<CouponEvent, { type: 'CouponUseCancelled' }>, c: ReplayedCoupon, before: AdmissionCoupon | undefined, at: Date, violation: (what: string) => void): boolean {
    const stop = stopping(violation);
    const { issuedCouponId, userId, orderId } = event.data;
    const issued = c.issued.get(issuedCouponId);
    if (!issued) return stop(`${issuedCouponId} use cancelled but never issued`);
    if (issued.userId !== userId) violation(`${issuedCouponId} cancellation names ${userId}, not its holder ${issued.userId}`);
    const { bucket } = event.data;
    const decided = decide({ type: 'CancelUse', sequence: issued.sequence, orderId, ...(bucket === undefined ? {} : { bucket }) }, before, at.getTime());
    if (decided.outcome === 'ORDER_MISMATCH') return stop(`${issuedCouponId} use cancelled for order ${orderId}, not the order that used it`);
    if (decided.outcome !== 'USE_CANCELLED') return stop(`${issuedCouponId} use cancelled while not in use`);
    if (decided.generation !== event.data.useGeneration) return stop(`${issuedCouponId} cancellation names use ${event.data.useGeneration}, the use in force is ${decided.generation}`);
    const revokedBefore = bucket === undefined ? before!.revokedCount : before!.buckets?.get(bucket)?.revokedCount ?? 0;
    const revokedCount = decided.status === 'REVOKED' ? revokedBefore + 1 : undefined;
    // A v1 cancellation (null) was written before cancelling after revoke-unused revoked: it is judged by the rules of its day.
    if (event.data.revokedCount !== null && event.data.revokedCount !== revokedCount) {
      violation(revokedCount === undefined ? `${issuedCouponId} revoked by a cancellation before revoke-unused ran`
        : `${issuedCouponId} use cancelled after revoke-unused ${event.data.revokedCount === undefined ? 'left usable' : `says a revoked total of ${event.data.revokedCount}, the log before it ${revokedCount}`}`);
    }
    c.useEvents.set(issuedCouponId, { usedBy: c.useEvents.get(issuedCouponId)?.usedBy ?? '', cancelledBy: event.eventId });
    return true;
  }

  private judgeRevoke(event: Extract<CouponEvent, { type: 'CouponsRevoked' }>, c: ReplayedCoupon, before: AdmissionCoupon | undefined, at: Date, violation: (what: string) => void): void {
    const sequences = new Map<number, string>();
    for (const { issuedCouponId, userId } of event.data.revoked) {
      const issued = c.issued.get(issuedCouponId);
      if (!issued || issued.userId !== userId) violation(`${issuedCouponId} revoked from ${userId}, who does not hold it`);
      else sequences.set(issued.sequence, issuedCouponId);
    }
    const holders = event.data.revoked.map(({ issuedCouponId, userId }) => [userId, c.issued.get(issuedCouponId)?.sequence ?? 0] as const);
    const decided = decide({ type: 'RevokeUnused', holders, ...(event.data.bucket === undefined ? {} : { bucket: event.data.bucket }) }, before, at.getTime());
    if (decided.outcome === 'REVOKED') {
      const allowed = new Set(decided.sequences);
      for (const [sequence, issuedCouponId] of sequences) {
        if (!allowed.has(sequence)) violation(`${issuedCouponId} revoked while in use or revoked already`);
      }
      if (decided.revokedCount !== event.data.revokedCount) violation(`revoke says a total of ${event.data.revokedCount}, the log before it ${decided.revokedCount}`);
    }
    (c.changedBy ??= new Set()).add(event.eventId);
  }

  /**
   * On a coupon split into stock buckets, one change of a window, claims or allow-list as bucket 0 made it or a
   * bucket announced it: each must say what the first seen said, so no bucket decides by settings bucket 0 never had.
   */
  private sameChange(c: ReplayedCoupon, setting: 'window' | 'claims' | 'allowList', revision: number, value: Parameters<typeof settingOf>[1], violation: (what: string) => void): void {
    if (!c.ledger) return violation(`a stock bucket's ${setting} change on a coupon not split into buckets`);
    const key = `${setting}@${revision}`;
    const seen = (c.settings ??= new Map()).get(key);
    const said = settingOf(setting, value);
    if (seen === undefined) c.settings.set(key, said);
    else if (seen !== said) violation(`${setting} change ${revision} says ${said}, another record of it ${seen}`);
  }

  /** A change of the coupon's settings (close, stock, window, eligibility, allow-list), judged by the rules at its instant. False: the event breaks a rule so that folding it would mislead what follows. */
  private judgeSetting(event: CouponEvent, c: ReplayedCoupon, before: AdmissionCoupon | undefined, at: Date, violation: (what: string) => void): boolean {
    const stop = stopping(violation);
    switch (event.type) {
    case 'CouponEligibilityChanged':
      if (event.data.bucket !== undefined || c.ledger) this.sameChange(c, 'claims', event.data.revision, event.data, violation);
      (c.changedBy ??= new Set()).add(event.eventId);
      break;
    case 'CouponAllowListChunkAdded':
      (c.changedBy ??= new Set()).add(event.eventId);
      break;
    case 'CouponAllowListReplaced': {
      const { version, size, bucket } = event.data;
      if (bucket !== undefined || c.ledger) this.sameChange(c, 'allowList', event.data.revision, event.data, violation);
      const staged = before?.staged?.version === version ? before.staged.members.size : 0;
      // A bucket's announcement counts its share only.
      if (bucket === undefined && version !== null && before?.allowList?.version !== version && staged !== size) violation(`allow-list ${version} put in force with ${size} users, its chunks hold ${staged}`);
      (c.changedBy ??= new Set()).add(event.eventId);
      break;
    }
    case 'CouponStockMoved':
    case 'CouponStockReceived': {
      const wrong = !c.ledger ? 'stock moved between the buckets of a coupon not split into buckets'
        : event.type === 'CouponStockMoved' ? c.ledger.moved(event.data) : c.ledger.arrived(event.data);
      if (wrong) violation(wrong);
      if (event.type === 'CouponStockReceived' && event.data.window) this.sameChange(c, 'window', event.data.window.revision, event.data.window, violation);
      if (event.type === 'CouponStockReceived' && event.data.eligibility) this.sameChange(c, 'claims', event.data.eligibility.revision, event.data.eligibility, violation);
      break;
    }
    case 'CouponIssuanceClosed':
      if (decide({ type: 'CloseIssuance' }, before, at.getTime()).outcome !== 'CLOSED') return stop('closed twice');
      c.closedAt = at;
      c.closedBy = event.eventId;
      break;
    case 'CouponStockAdded': {
      const decided = decide({ type: 'AddStock', add: event.data.add }, before, at.getTime());
      if (decided.outcome === 'COUPON_CLOSED') violation('stock added after issuing was closed');
      else if (decided.outcome === 'STOCK_LIMIT') violation(`stock added past the limit: ${before!.totalQuantity} + ${event.data.add}`);
      else if (decided.outcome === 'STOCK_ADDED' && decided.totalQuantity !== event.data.totalQuantity) {
        violation(`stock added says a total of ${event.data.totalQuantity}, the log before it ${before!.totalQuantity} + ${event.data.add}`);
      }
      if (decided.outcome === 'STOCK_ADDED') c.ledger?.added(event.data.totalQuantity);
      (c.changedBy ??= new Set()).add(event.eventId);
      break;
    }
    case 'CouponIssueWindowChanged': {
      // A stock bucket announcing the change it took was judged as the coupon's own change (without `bucket`).
      if (event.data.bucket !== undefined || c.ledger) this.sameChange(c, 'window', event.data.revision, event.data, violation);
      if (event.data.bucket !== undefined) {
        (c.changedBy ??= new Set()).add(event.eventId);
        break;
      }
      const change = { issueStartAt: Date.parse(event.data.issueStartAt), issueEndAt: Date.parse(event.data.issueEndAt) };
      const decided = decide({ type: 'ChangeIssueWindow', ...change }, before, at.getTime());
      if (decided.outcome === 'COUPON_CLOSED') violation('issue window moved after issuing was closed');
      else if (decided.outcome === 'ISSUE_STARTED') violation('issue window start moved after issuing began');
      else if (decided.outcome === 'WINDOW_INVALID') violation(`issue window moved to an invalid one: ${event.data.issueStartAt} to ${event.data.issueEndAt}`);
      (c.changedBy ??= new Set()).add(event.eventId);
      break;
    }
    }
    return true;
  }
}
