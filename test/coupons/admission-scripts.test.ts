import * as assert from 'uvu/assert';
import { internalRequest } from '../../src/coupons/admission/admission-request.ts';
import { AdmissionStore } from '../../src/coupons/admission/admission-store.ts';
import { decideAddStock, decideCancelUse, decideChangeWindow, decideClose, decideIssue, decideRevoke, decideUse, overUserLimit, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import { uuidv7 } from '../../src/coupons/ids.ts';
import type { EligibilityClaims } from '../../src/auth/identity.ts';
import type { RequiredClaims } from '../../src/events/coupon-events.ts';
import { closeRuntime } from '../../src/runtime/runtime.ts';
import { openTestRuntime } from '../support/test-runtime.ts';
import { spec } from '../support/spec.ts';

let store!: AdmissionStore;
// Low enough that some users reach it on some coupons, and a window longer than the test.
const USER_LIMIT = { requests: 7, windowMs: 600_000 };
const equivalence = spec('Lua admission scripts agree with the TypeScript mirror', async () => {
  const runtime = await openTestRuntime();
  store = new AdmissionStore(runtime.redis, { ...runtime.config.admission, userLimit: USER_LIMIT });
  return runtime;
}, closeRuntime);

// A tiny seeded generator, so a failure can be replayed from its seed.
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

equivalence('on 40 random coupons and 3,000 random commands, every answer is the same', async () => {
  const next = random(20261122);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  // Windows are hours away from now, so the two sides never straddle a boundary on clock skew.
  const offsets = [-3 * HOUR, -2 * HOUR, 2 * HOUR, 3 * HOUR];
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
  const orders = [null, 'order-1', 'order-2'];
  // Token claims by user: a single value, a list, a value no coupon asks for, none.
  const claimsOf: Record<string, EligibilityClaims> = { u1: { tier: 'gold' }, u2: { tier: 'vip' }, u3: { tier: 'silver' }, u4: { tier: ['bronze', 'gold'] }, u5: {}, u6: { region: 'eu', toString: 'gold' } };
  // A claim named like a property every object has must be matched as the token's own claim, or not at all.
  const requirements: (RequiredClaims | undefined)[] = [undefined, undefined, { tier: ['gold', 'vip'] }, { tier: ['gold'], region: ['eu'] }, { toString: ['gold'] }, { constructor: ['x'] }];
  const mirror = new Map<string, AdmissionCoupon>();
  const ids: string[] = [];
  const now = Date.now();
  for (let i = 0; i < 40; i++) {
    const couponId = uuidv7();
    const [a, b] = [pick(offsets), pick(offsets)].sort((x, y) => x - y) as [number, number];
    const issueStartAt = now + a;
    const issueEndAt = now + (a === b ? b + HOUR : b);
    const validFrom = now + pick(offsets);
    const validUntil = Math.max(validFrom, issueEndAt) + pick([1, 2]) * HOUR;
    const requiredClaims = pick(requirements);
    const allowList = next() < 0.15;
    const definition = {
      name: `c${i}`, totalQuantity: 1 + Math.floor(next() * 4), discount: { type: 'PERCENT' as const, value: 5 },
      issueStartAt: iso(issueStartAt), issueEndAt: iso(issueEndAt), validFrom: iso(validFrom), validUntil: iso(validUntil),
      ...(requiredClaims || allowList ? { eligibility: { ...(requiredClaims ? { requiredClaims } : {}), ...(allowList ? { allowList } : {}) } } : {}),
    };
    assert.is((await store.create(couponId, uuidv7(), definition, {}, internalRequest())).outcome, 'CREATED');
    ids.push(couponId);
    mirror.set(couponId, {
      couponId, status: 'ACTIVE', totalQuantity: definition.totalQuantity, issued: 0, usedCount: 0, cancelledCount: 0, revokedCount: 0,
      issueStartAt, issueEndAt, validFrom, validUntil, holders: new Map(), redemptions: new Map(), allowListVersion: 0,
      ...(requiredClaims ? { requiredClaims } : {}), ...(allowList ? { allowList: { version: 0, members: new Set<string>() } } : {}),
    });
  }
  ids.push(uuidv7()); // one that does not exist

  const tally = new Map<string, number>();
  const attempts = new Map<string, number>();
  const limited = (route: string, couponId: string, user: string) => {
    const key = `${route} ${couponId} ${user}`;
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
    return overUserLimit(attempts.get(key)!, USER_LIMIT.requests);
  };
  // Mostly the caller's own coupon, so uses and cancellations get past the holder check; now and then any.
  const aimed = (state: AdmissionCoupon | undefined, user: string) => {
    const own = state?.holders.get(user);
    return own !== undefined && next() < 0.8 ? own : 1 + Math.floor(next() * 4);
  };
  for (let step = 0; step < 3000; step++) {
    const couponId = pick(ids);
    const state = mirror.get(couponId);
    const user = pick(users);
    const roll = next();
    let expected: string;
    let actual: string;
    if (roll < 0.45 && limited('issue', couponId, user)) {
      expected = 'RATE_LIMITED';
      actual = (await store.issue(couponId, user, uuidv7(), {}, internalRequest(), JSON.stringify(claimsOf[user]))).outcome;
    } else if (roll < 0.45) {
      const d = decideIssue(state, user, Date.now(), claimsOf[user]);
      expected = d.outcome + ('sequence' in d ? d.sequence : '');
      if (d.outcome === 'ISSUED') {
        state!.holders.set(user, d.sequence);
        state!.issued = d.sequence;
      }
      const r = await store.issue(couponId, user, uuidv7(), {}, internalRequest(), JSON.stringify(claimsOf[user]));
      actual = r.outcome + ('issuedCouponId' in r ? Number(r.issuedCouponId.split('.')[1]) : '');
    } else if (roll < 0.68 && limited('use', couponId, user)) {
      expected = 'RATE_LIMITED';
      actual = (await store.use(couponId, 1 + Math.floor(next() * 4), user, uuidv7(), undefined, {}, internalRequest())).outcome;
    } else if (roll < 0.68) {
      const sequence = aimed(state, user);
      const orderId = pick(orders);
      const d = decideUse(state, sequence, user, Date.now());
      expected = d.outcome;
      if (d.outcome === 'USED') {
        state!.redemptions.set(sequence, { state: 'USED', at: Date.now(), generation: d.generation, orderId });
        state!.usedCount++;
      }
      actual = (await store.use(couponId, sequence, user, uuidv7(), orderId ?? undefined, {}, internalRequest())).outcome;
    } else if (roll < 0.85) {
      // The order system cancelling, the order right or wrong.
      const sequence = aimed(state, user);
      const inForce = state?.redemptions.get(sequence);
      const orderId = inForce && next() < 0.6 ? inForce.orderId : pick(orders);
      const d = decideCancelUse(state, { sequence, orderId }, Date.now());
      expected = d.outcome + ('status' in d ? ` ${d.status}` : '');
      if (d.outcome === 'USE_CANCELLED') {
        state!.redemptions.set(sequence, d.status === 'REVOKED' ? { state: 'REVOKED', at: Date.now(), generation: d.generation, orderId } : { state: 'CANCELLED', generation: d.generation, orderId });
        state!.cancelledCount++;
        if (d.status === 'REVOKED') state!.revokedCount++;
      }
      const r = await store.cancelUse(couponId, sequence, orderId, uuidv7(), {}, internalRequest());
      actual = r.outcome + ('status' in r ? ` ${r.status}` : '');
    } else if (roll < 0.87) {
      const holders = Array.from({ length: 1 + Math.floor(next() * 4) }, () => [pick(users), 1 + Math.floor(next() * 4)] as const);
      const d = decideRevoke(state, holders);
      expected = d.outcome + ('revokedCount' in d ? `${d.sequences.length}/${d.revokedCount}` : '');
      if (d.outcome === 'REVOKED') {
        for (const sequence of d.sequences) {
          const r = state!.redemptions.get(sequence);
          state!.redemptions.set(sequence, { state: 'REVOKED', at: Date.now(), generation: r?.generation ?? 0, orderId: r?.orderId ?? null });
        }
        state!.revokedCount = d.revokedCount;
        state!.unusedRevoked = true;
      }
      const r = await store.revokeChunk(couponId, holders, {});
      actual = r.outcome + ('revokedCount' in r ? `${r.revoked}/${r.revokedCount}` : '');
    } else if (roll < 0.91) {
      // The end only, hours from now, so the two sides never straddle a boundary on clock skew.
      const issueEndAt = Date.now() + pick([-HOUR, 2 * HOUR, 4 * HOUR, 40 * HOUR]);
      const d = decideChangeWindow(state, { issueEndAt }, Date.now());
      expected = d.outcome;
      if (d.outcome === 'WINDOW_CHANGED') state!.issueEndAt = d.issueEndAt;
      actual = (await store.changeWindow(couponId, { issueEndAt: iso(issueEndAt) }, uuidv7(), {}, internalRequest())).outcome;
    } else if (roll < 0.975) {
      // Now and then enough to pass the limit, so STOCK_LIMIT is reached too.
      const add = next() < 0.2 ? 10_000_000 : 1 + Math.floor(next() * 2);
      const d = decideAddStock(state, add);
      expected = d.outcome + ('totalQuantity' in d ? d.totalQuantity : '');
      if (d.outcome === 'STOCK_ADDED') state!.totalQuantity = d.totalQuantity;
      const r = await store.addStock(couponId, add, uuidv7(), {}, internalRequest());
      actual = r.outcome + ('totalQuantity' in r ? r.totalQuantity : '');
    } else if (roll < 0.985) {
      // A new allow-list (some of the users, uploaded in chunks of two), or none; then a new claim requirement.
      const members = users.filter(() => next() < 0.5);
      const remove = next() < 0.2;
      const requiredClaims = pick(requirements);
      async function* twoAtATime() {
        for (let i = 0; i < members.length; i += 2) yield members.slice(i, i + 2);
      }
      if (state) {
        if (remove) delete state.allowList;
        else state.allowList = { version: state.allowListVersion + 1, members: new Set(members) };
        if (!remove) state.allowListVersion++;
        if (requiredClaims) state.requiredClaims = requiredClaims;
        else delete state.requiredClaims;
      }
      expected = state ? (remove ? 'REMOVED' : `REPLACED${new Set(members).size}`) : 'COUPON_NOT_FOUND';
      const r = remove ? await store.removeAllowList(couponId, {}) : await store.replaceAllowList(couponId, twoAtATime(), {});
      actual = r.outcome + ('size' in r ? r.size : '');
      const changed = await store.changeEligibility(couponId, requiredClaims ?? null, uuidv7(), {}, internalRequest());
      assert.is(changed.outcome, state ? 'ELIGIBILITY_CHANGED' : 'COUPON_NOT_FOUND');
    } else {
      const d = decideClose(state);
      expected = d.outcome;
      if (d.outcome === 'CLOSED') state!.status = 'CLOSED';
      actual = (await store.close(couponId, uuidv7(), {}, internalRequest())).outcome;
    }
    assert.is(actual, expected, `step ${step}: ${couponId} ${user}`);
    const outcome = expected.replace(/ \w+$|[\d/]+$/, '');
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    if (expected.endsWith(' REVOKED')) tally.set(expected, (tally.get(expected) ?? 0) + 1);
  }
  // The scenario must reach every outcome, or it proves less than it claims.
  for (const outcome of ['ISSUED', 'ALREADY_ISSUED', 'SOLD_OUT', 'ISSUE_NOT_STARTED', 'ISSUE_ENDED', 'COUPON_CLOSED', 'COUPON_NOT_FOUND',
    'USED', 'ALREADY_USED', 'ISSUED_COUPON_NOT_FOUND', 'COUPON_NOT_YET_VALID', 'CLOSED', 'RATE_LIMITED', 'STOCK_ADDED', 'STOCK_LIMIT', 'WINDOW_CHANGED', 'WINDOW_INVALID',
    'COUPON_REVOKED', 'USE_CANCELLED', 'ALREADY_CANCELLED', 'NOT_USED', 'ORDER_MISMATCH', 'REVOKED', 'NOT_ELIGIBLE', 'REPLACED', 'REMOVED',
    'USE_CANCELLED REVOKED']) {
    assert.ok((tally.get(outcome) ?? 0) > 0, `no command reached ${outcome}: ${JSON.stringify([...tally])}`);
  }
});

equivalence.run();
