import type { EligibilityClaims } from '../../auth/identity.ts';
import type { couponCreatedData, RequiredClaims } from '../../events/coupon-events.ts';
import type { z } from 'zod';
import type { ShownPass } from './queue-rules.ts';
import { asBucketSees, type AdmissionCoupon } from './coupon-state.ts';
import { decideExpireHold, decideHold, decideRelease, type ExpireHoldDecision, type HoldDecision, type ReleaseDecision } from './decide-holds.ts';
import { decideCancelUse, decideIssue, decideRevoke, decideUse, type CancelUseDecision, type IssueDecision, type RevokeDecision, type UseDecision } from './decide-redemptions.ts';
import {
  decideAddStock, decideAllowList, decideChangeWindow, decideClose, decideCreate, decideEligibility,
  type AddStockDecision, type AllowListDecision, type ChangeWindowDecision, type CloseDecision, type CreateDecision, type EligibilityDecision,
} from './decide-settings.ts';

export type CouponCommand =
  | { type: 'CreateCoupon'; definition: z.infer<typeof couponCreatedData> }
  /** `bucket`: on a coupon split into stock buckets, the asker's, decided by the window and claims it holds. */
  | { type: 'IssueCoupon'; userId: string; claims?: EligibilityClaims; bucket?: number; human?: boolean; pass?: ShownPass }
  /** The holder's own use, or the order system's on their behalf: `userId` is the holder either way. */
  | { type: 'UseCoupon'; sequence: number; userId: string; orderId?: string | null; order?: { totalMinor: number; currency: string } }
  /** At checkout, by the holder or the order system on their behalf: reserved for `orderId` for `ttlMs`. */
  | { type: 'HoldCoupon'; sequence: number; userId: string; orderId: string; ttlMs: number }
  /** By the order system or an admin: the hold of `orderId` given back. */
  | { type: 'ReleaseHold'; sequence: number; orderId: string; holdSequence?: number }
  /** The expiry timer: hold `holdSequence` ended once it lapsed. */
  | { type: 'ExpireHold'; sequence: number; holdSequence: number }
  /** By the order system or an admin (see AUTHORITY), for any holder. `orderId` null: the use named no order. */
  | { type: 'CancelUse'; sequence: number; orderId: string | null; bucket?: number }
  /** One chunk of a revoke-unused run: these holders' coupons, each revoked if unused. */
  | { type: 'RevokeUnused'; holders: readonly (readonly [string, number])[]; bucket?: number }
  | { type: 'CloseIssuance' }
  | { type: 'AddStock'; add: number }
  | { type: 'ChangeIssueWindow'; issueStartAt?: number; issueEndAt?: number }
  | { type: 'ChangeEligibility'; requiredClaims: RequiredClaims | null }
  | { type: 'AddAllowListChunk'; version: number; userIds: string[] }
  | { type: 'PutAllowListInForce'; version: number }
  | { type: 'RemoveAllowList' };

export type Decision<C extends CouponCommand> = C extends { type: 'CreateCoupon' } ? CreateDecision
  : C extends { type: 'IssueCoupon' } ? IssueDecision
  : C extends { type: 'UseCoupon' } ? UseDecision
  : C extends { type: 'HoldCoupon' } ? HoldDecision
  : C extends { type: 'ReleaseHold' } ? ReleaseDecision
  : C extends { type: 'ExpireHold' } ? ExpireHoldDecision
  : C extends { type: 'CancelUse' } ? CancelUseDecision
  : C extends { type: 'RevokeUnused' } ? RevokeDecision
  : C extends { type: 'AddStock' } ? AddStockDecision
  : C extends { type: 'ChangeIssueWindow' } ? ChangeWindowDecision
  : C extends { type: 'ChangeEligibility' } ? EligibilityDecision
  : C extends { type: 'AddAllowListChunk' | 'PutAllowListInForce' | 'RemoveAllowList' } ? AllowListDecision
  : CloseDecision;

/**
 * What a command may do to the coupon at `now`: the outcome the caller is answered with and the events it
 * implies (none for a refusal), in emmett's shape. The Lua scripts in `../admission` execute the same decisions
 * atomically and append the same events (a random test holds them to it); `evolve` folds the events.
 */
export function decide<C extends CouponCommand>(command: C, coupon: AdmissionCoupon | undefined, now: number): Decision<C> {
  return decideAny(command, coupon, now) as Decision<C>;
}

function decideAny(command: CouponCommand, coupon: AdmissionCoupon | undefined, now: number) {
  switch (command.type) {
    case 'CreateCoupon': return decideCreate(coupon, command.definition);
    case 'IssueCoupon': return decideIssue(coupon && asBucketSees(coupon, command.bucket), command.userId, now, command.claims, command.human, command.pass);
    case 'UseCoupon': return decideUse(coupon, command, now);
    case 'HoldCoupon': return decideHold(coupon, command, now);
    case 'ReleaseHold': return decideRelease(coupon, command, now);
    case 'ExpireHold': return decideExpireHold(coupon, command, now);
    case 'CancelUse': return decideCancelUse(coupon, command, now);
    case 'RevokeUnused': return decideRevoke(coupon, command.holders, command.bucket);
    case 'CloseIssuance': return decideClose(coupon);
    case 'AddStock': return decideAddStock(coupon, command.add);
    case 'ChangeIssueWindow': return decideChangeWindow(coupon, command, now);
    case 'ChangeEligibility': return decideEligibility(coupon, command.requiredClaims);
    case 'AddAllowListChunk': return decideAllowList(coupon, { step: 'add', version: command.version, userIds: command.userIds });
    case 'PutAllowListInForce': return decideAllowList(coupon, { step: 'commit', version: command.version });
    case 'RemoveAllowList': return decideAllowList(coupon, { step: 'remove' });
  }
}
