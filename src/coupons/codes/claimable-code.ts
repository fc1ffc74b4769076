import type { Context } from 'koa';
import { identityOf } from '../../auth/authenticate.ts';
import type { EligibilityClaims } from '../../auth/identity.ts';
import { PROBLEM_CONTENT_TYPE, Problem } from '../../http/problem.ts';
import { validate } from '../../http/validate.ts';
import { DependencyUnavailable, EventLogBacklog, OutcomeUnknown } from '../../dependencies/dependency-unavailable.ts';
import type { CouponSnapshot } from '../admission/coupon-snapshot.ts';
import { meetsConditions, type AllowListReader } from '../eligibility/may-claim.ts';
import type { CodeGuesses } from './code-guesses.ts';
import { couponCode } from './coupon-code.ts';
import type { CouponCodes } from './coupon-codes.ts';

export interface ByCodeDeps {
  codes: CouponCodes;
  guesses: CodeGuesses;
  admission: AllowListReader & { snapshot(couponId: string, userId?: string): Promise<CouponSnapshot | undefined> };
}

/**
 * What an unknown code, a closed coupon's and one the caller may not claim answer alike to someone holding
 * nothing from it: one body, byte for byte (no request id in it), so a guesser cannot tell them apart.
 */
const UNCLAIMABLE_BODY = JSON.stringify(new Problem('COUPON_NOT_FOUND', 'No coupon you may claim has this code').body());

/**
 * A by-code route's answer: `answer` answers for the coupon the code names and says whether it was one the
 * caller may claim (or holds); a code naming none, an unknown one, or a malformed one (400) is a miss, counted
 * toward the caller's and their address's limits (code-guesses.ts), and past them the route answers 429 first.
 */
export async function answerByCode(ctx: Context, deps: ByCodeDeps, raw: string, answer: (couponId: string) => Promise<boolean>): Promise<void> {
  const { userId } = identityOf(ctx);
  await deps.guesses.admit(userId, ctx.ip);
  let outcome: 'found' | 'missed' | 'unanswered' = 'missed';
  try {
    const code = validate(couponCode, raw, 'path');
    const couponId = await deps.codes.resolve(code);
    outcome = couponId !== undefined && (await answer(couponId)) ? 'found' : 'missed';
    if (outcome === 'missed') {
      ctx.status = 404;
      ctx.set('Content-Type', PROBLEM_CONTENT_TYPE);
      ctx.body = UNCLAIMABLE_BODY;
    }
  } catch (error) {
    // A dependency that did not answer was no guess; any other failure counts as one, whatever it was.
    if (error instanceof DependencyUnavailable || error instanceof OutcomeUnknown || error instanceof EventLogBacklog) outcome = 'unanswered';
    throw error;
  } finally {
    await (outcome === 'missed' ? deps.guesses.missed(ctx.ip) : deps.guesses.giveBack(userId));
  }
}

/**
 * The coupon as the caller may see it by its code: its snapshot when they hold it, or could claim it now as far as
 * its status and conditions say (stock and window aside); undefined when a non-holder may not.
 */
export async function claimableSnapshot(ctx: Context, deps: ByCodeDeps, couponId: string): Promise<CouponSnapshot | undefined> {
  const { userId, claims } = identityOf(ctx);
  const snapshot = await deps.admission.snapshot(couponId, userId);
  if (!snapshot || snapshot.mine) return snapshot;
  if (snapshot.closed) return undefined;
  const { requiredClaims, allowList } = snapshot.eligibility;
  const meets = await meetsConditions(deps.admission, couponId, userId, JSON.parse(claims) as EligibilityClaims, requiredClaims ?? undefined, allowList !== null);
  return meets ? snapshot : undefined;
}
