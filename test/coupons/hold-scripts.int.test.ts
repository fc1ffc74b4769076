import * as assert from 'uvu/assert';
import { internalRequest } from '../../src/idempotency/admission-request.ts';
import { decide, evolve, type AdmissionCoupon, type CouponCommand } from '../../src/coupons/rules/coupon-rules.ts';
import { uuidv7 } from '../../src/ids/ids.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { spec } from '../support/spec.ts';
import { appended as appendedEvents, canonical, random, scriptsUnderTest } from '../support/mirror.ts';

// No attempt limit: the issue-and-use spec holds the limit to the rules; here every command is decided.
const equivalence = spec('the hold scripts agree with the rules', () => scriptsUnderTest({ userLimit: undefined }));

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

equivalence('on 9 coupons (3 granting money, 2 from a budget) and 2,500 random holds, uses (with order totals), releases, expiries, cancellations and revocations, every answer and every event is the rules\'', async ({ store, redis, shards }) => {
  const next = random(20261207);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const users = ['u1', 'u2', 'u3', 'u4'];
  const orders = ['A', 'B', 'C'];
  const mirror = new Map<string, AdmissionCoupon>();
  const ids: string[] = [];
  const appended = <R>(couponId: string, call: () => Promise<R>) => appendedEvents(redis, shards, couponId, call);
  const fold = (couponId: string, events: CouponEvent[]) => {
    let state = mirror.get(couponId);
    for (const event of events) state = evolve(state, event);
    if (state) mirror.set(couponId, state);
  };
  // Decided at the instant the script wrote its events (Redis's clock, in their envelope), or now for a refusal: a
  // hold's end is in its data. Holds last an hour or lapsed a second before they began, so no answer sits on a boundary.
  const agree = (couponId: string, state: AdmissionCoupon | undefined, command: CouponCommand, events: CouponEvent[], where: string) => {
    const d = decide(command, state, events[0] ? Date.parse(events[0].occurredAt) : Date.now());
    assert.is(canonical(events.map(({ type, data }) => ({ type, data }))), canonical(d.events), `${where}: events of ${d.outcome}`);
    fold(couponId, events);
    return d;
  };

  // The last three grant money: a fixed 7.00 EUR and 15% capped at 5.00 EUR from small budgets, and 10% capped at 3.00 with no budget.
  const monies = [{ discount: { type: 'AMOUNT' as const, value: 7 }, currency: 'EUR', budget: { amount: 20 } },
    { discount: { type: 'PERCENT' as const, value: 15 }, currency: 'EUR', budget: { amount: 12 }, maxDiscountPerOrder: 5 },
    { discount: { type: 'PERCENT' as const, value: 10 }, currency: 'EUR', maxDiscountPerOrder: 3 }];
  for (let i = 0; i < 9; i++) {
    const couponId = uuidv7();
    const now = Date.now();
    // The last is valid only from two hours on: it is issued, but neither held nor used.
    const validFrom = i === 5 ? now + 2 * HOUR : now - HOUR;
    const definition = {
      name: `h${i}`, totalQuantity: 4, discount: { type: 'PERCENT' as const, value: 5 },
      issueStartAt: iso(now - HOUR), issueEndAt: iso(now + HOUR), validFrom: iso(validFrom), validUntil: iso(now + 5 * HOUR), ...monies[i - 6],
    };
    const [, created] = await appended(couponId, () => store.create(couponId, uuidv7(), definition, {}, internalRequest()));
    fold(couponId, created);
    for (const user of users) {
      const [r, issued] = await appended(couponId, () => store.issue(couponId, user, uuidv7(), {}, internalRequest()));
      assert.is(r.outcome, 'ISSUED');
      fold(couponId, issued);
    }
    ids.push(couponId);
  }
  ids.push(uuidv7()); // one that does not exist

  const tally = new Map<string, number>();
  let lapsesMet = 0;
  let granted = 0;
  for (let step = 0; step < 2500; step++) {
    const couponId = pick(ids);
    const state = mirror.get(couponId);
    const user = pick(users);
    const own = state?.holders.get(user);
    const sequence = own !== undefined && next() < 0.85 ? own : 1 + Math.floor(next() * 5);
    const hold = state?.holds?.get(sequence);
    const roll = next();
    const where = `step ${step}: ${couponId} ${user} #${sequence}`;
    let expected: string;
    let actual: string;
    if (roll < 0.35) {
      const command = { type: 'HoldCoupon' as const, sequence, userId: user, orderId: pick(orders), ttlMs: next() < 0.7 ? HOUR : -1_000 };
      const [r, events] = await appended(couponId, () => store.hold(couponId, command, {}, internalRequest()));
      const d = agree(couponId, state, command, events, where);
      expected = d.outcome + ('heldUntil' in d ? ` ${d.heldUntil}` : '');
      actual = r.outcome + ('heldUntil' in r ? ` ${r.heldUntil.getTime()}` : '');
      if (d.events.length > 1) lapsesMet++;
    } else if (roll < 0.55) {
      const order = next() < 0.85 ? { totalMinor: Math.floor(next() * 6_000), currency: next() < 0.9 ? 'EUR' : 'USD' } : undefined;
      const command = { type: 'UseCoupon' as const, sequence, userId: user, orderId: hold && next() < 0.6 ? hold.orderId : pick([null, ...orders]), order };
      const [r, events] = await appended(couponId, () => store.use(couponId, sequence, user, uuidv7(), command.orderId ?? undefined, {}, internalRequest(), order));
      const d = agree(couponId, state, command, events, where);
      expected = d.outcome + ('holdSequence' in d ? ' confirming' : '') + ('discountMinor' in d ? ` granting ${d.discountMinor}` : '');
      actual = r.outcome + (events.some((e) => e.type === 'CouponUsed' && e.data.holdSequence) ? ' confirming' : '') + ('discountMinor' in r ? ` granting ${r.discountMinor}` : '');
      if (d.events.length > 1) lapsesMet++;
      if ('discountMinor' in d && d.discountMinor! > 0) granted++;
    } else if (roll < 0.75) {
      // Now and then naming a hold's number: the current one, or one before or after it.
      const named = hold && next() < 0.3 ? { holdSequence: Math.max(1, hold.holdSequence + pick([-1, 0, 0, 1])) } : {};
      const command = { type: 'ReleaseHold' as const, sequence, orderId: hold && next() < 0.7 ? hold.orderId : pick(orders), ...named };
      const [r, events] = await appended(couponId, () => store.release(couponId, command, {}, internalRequest()));
      const d = agree(couponId, state, command, events, where);
      expected = d.outcome + ('status' in d ? ` ${d.status}` : '');
      actual = r.outcome + ('status' in r ? ` ${r.status}` : '');
    } else if (roll < 0.87) {
      const command = { type: 'ExpireHold' as const, sequence, holdSequence: hold && next() < 0.8 ? hold.holdSequence : 1 + Math.floor(next() * 3) };
      const [r, events] = await appended(couponId, () => store.expireHold(couponId, sequence, command.holdSequence));
      expected = agree(couponId, state, command, events, where).outcome;
      actual = r.outcome;
    } else if (roll < 0.98 || step < 2_000) {
      const inForce = state?.redemptions.get(sequence);
      const command = { type: 'CancelUse' as const, sequence, orderId: inForce && next() < 0.7 ? inForce.orderId : pick([null, ...orders]) };
      const [r, events] = await appended(couponId, () => store.cancelUse(couponId, sequence, command.orderId, uuidv7(), {}, internalRequest()));
      expected = agree(couponId, state, command, events, where).outcome;
      actual = r.outcome;
    } else {
      // Rarely, and late: a revoked coupon is out of the game for good.
      const command = { type: 'RevokeUnused' as const, holders: [[user, sequence] as const] };
      const [r, events] = await appended(couponId, () => store.revokeChunk(couponId, command.holders, {}));
      expected = agree(couponId, state, command, events, where).outcome;
      actual = r.outcome;
    }
    assert.is(actual, expected, where);
    const outcome = expected.replace(/ granting \d+$/, '').replace(/ \d+$/, '');
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  }
  // The scenario must reach every outcome, or it proves less than it claims.
  for (const outcome of ['HELD', 'ALREADY_HELD', 'HELD_ELSEWHERE', 'USED', 'USED confirming', 'ALREADY_USED', 'RELEASED ISSUED', 'ALREADY_RELEASED ISSUED', 'NOT_HELD',
    'ORDER_MISMATCH', 'EXPIRED', 'NOT_DUE', 'ISSUED_COUPON_NOT_FOUND', 'COUPON_NOT_YET_VALID', 'COUPON_REVOKED', 'USE_CANCELLED',
    'ORDER_TOTAL_REQUIRED', 'CURRENCY_MISMATCH', 'BUDGET_EXHAUSTED']) {
    assert.ok((tally.get(outcome) ?? 0) > 0, `no command reached ${outcome}: ${JSON.stringify([...tally])}`);
  }
  assert.ok(lapsesMet > 0, 'no hold or use met a lapsed hold');
  assert.ok(granted > 0, 'no use granted money');
});

equivalence.run();
