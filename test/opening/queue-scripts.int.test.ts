import * as assert from 'uvu/assert';
import { internalRequest } from '../../src/idempotency/admission-request.ts';
import { decide, decideGrant, decideJoin, evolve, personOf, roomState, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import { uuidv7 } from '../../src/ids/ids.ts';
import type { EligibilityClaims } from '../../src/auth/identity.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { spec } from '../support/spec.ts';
import { appended as appendedEvents, canonical, random, scriptsUnderTest } from '../support/mirror.ts';

const equivalence = spec('the waiting room\'s Lua scripts agree with the rules', () => scriptsUnderTest());

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

equivalence('on 16 random coupons and 4,000 random joins, steps of the meter and claims, every answer, every pass granted and every event is the rules\'', async ({ store, redis, shards }) => {
  const next = random(20261206);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];
  // u1 and u6 are one person by their phone; u5 names none; u6 carries a claim named like an Object.prototype member.
  const claimsOf: Record<string, EligibilityClaims> = {
    u1: { tier: 'gold', phone: 'p1' }, u2: { tier: 'vip', phone: 'p2' }, u3: { tier: 'silver', phone: 'p3' }, u4: { phone: 'p4' }, u5: {},
    u6: { tier: 'gold', phone: 'p1', constructor: 'c6' }, u7: { tier: 'gold', phone: 'p7' }, u8: { tier: 'vip', phone: 'p8' },
  };
  const mirror = new Map<string, AdmissionCoupon>();
  const ids: string[] = [];
  const now = Date.now();
  const appended = <R>(couponId: string, call: () => Promise<R>) => appendedEvents(redis, shards, couponId, call);
  const fold = (couponId: string, events: CouponEvent[]) => {
    let state = mirror.get(couponId);
    for (const event of events) state = evolve(state, event);
    if (state) mirror.set(couponId, state);
  };
  const drafts = (events: CouponEvent[]) => canonical(events.map(({ type, data }) => ({ type, data })));

  for (let i = 0; i < 16; i++) {
    const couponId = uuidv7();
    // Open now (most), not yet started (a pre-queue), ended, or a room not open yet; one coupon in eight opens directly.
    const [start, end, preQueueFrom] = pick([[-HOUR, HOUR], [-HOUR, HOUR], [-HOUR, HOUR], [-HOUR, HOUR], [-HOUR, HOUR], [2 * HOUR, 3 * HOUR], [-2 * HOUR, -HOUR], [2 * HOUR, 3 * HOUR, HOUR]] as const) as [number, number, number?];
    const definition = {
      name: `q${i}`, totalQuantity: 2 + Math.floor(next() * 4), discount: { type: 'PERCENT' as const, value: 5 },
      issueStartAt: iso(now + start), issueEndAt: iso(now + end), validFrom: iso(now - HOUR), validUntil: iso(now + 4 * HOUR),
      ...(i % 8 === 7 ? {} : { opening: { mode: 'queue' as const, admitPerSecond: 1 + Math.floor(next() * 3), passTtlSeconds: 600, ...(preQueueFrom ? { preQueueFrom: iso(now + preQueueFrom) } : {}) } }),
      ...(next() < 0.4 ? { onePer: { claim: pick(['phone', 'phone', 'constructor']) } } : {}),
      ...(i % 5 === 4 ? { humanCheck: true } : {}),
      ...(next() < 0.25 ? { eligibility: { requiredClaims: { tier: ['gold', 'vip'] } } } : {}),
    };
    const [, events] = await appended(couponId, () => store.create(couponId, uuidv7(), definition, {}, internalRequest()));
    fold(couponId, events);
    ids.push(couponId);
  }

  const tally = new Map<string, number>();
  const count = (outcome: string) => tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  for (let step = 0; step < 4_000; step++) {
    const couponId = pick(ids);
    const state = mirror.get(couponId);
    const user = pick(users);
    const claims = claimsOf[user]!;
    const human = step % 9 !== 0;
    const roll = next();
    const where = `step ${step}: ${couponId} ${user}`;
    if (roll < 0.4) {
      const d = decideJoin(state, user, claims, Date.now(), human);
      const [r, events] = await appended(couponId, () => store.queueJoin(couponId, user, {}, human ? '1' : '', JSON.stringify(claims)));
      assert.is(canonical({ ...r }), canonical(Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'events'))), where);
      assert.is(drafts(events), canonical(d.events), where);
      fold(couponId, events);
      count(`join ${d.outcome}${'created' in d && !d.created ? ' again' : ''}`);
    } else if (roll < 0.7) {
      const most = 1 + Math.floor(next() * 3);
      const before = Date.now();
      const [, events] = await appended(couponId, () => store.queueStep(couponId, most));
      const after = Date.now();
      for (const event of events) {
        const seen = mirror.get(couponId)!;
        if (event.type === 'CouponQueueShuffled') assert.is(roomState({ ...seen, queue: seen.queue! }, Date.parse(event.occurredAt)), 'SHUFFLING', where);
        if (event.type === 'CouponPassesGranted') {
          assert.equal(event.data.persons, decideGrant({ ...seen, queue: seen.queue! }, Date.parse(event.occurredAt), most).persons, where);
          count('grant');
        }
        fold(couponId, [event]);
      }
      const settled = mirror.get(couponId);
      if (settled?.queue && !events.some((e) => e.type === 'CouponPassesGranted')) {
        // Nothing granted: the rules agree at one end of the call or the other (the meter's second may have turned during it).
        const grantable = [before, after].map((t) => decideGrant({ ...settled, queue: settled.queue! }, t, most).persons.length);
        assert.ok(grantable.includes(0), `${where}: the rules would have granted ${grantable}`);
        if (settled.queue.tickets.size > settled.queue.head && roomState({ ...settled, queue: settled.queue }, after) === 'OPEN') count('metered');
      }
    } else if (roll < 0.995) {
      const shown = pick(['own', 'own', 'own', 'another', 'expired', 'none'] as const);
      const person = state ? personOf(state, user, claims) ?? user : user;
      const pass = shown === 'none' ? undefined : { person: shown === 'another' ? `${person}-not` : person, expiresAtMs: shown === 'expired' ? Date.now() - 1_000 : Date.now() + 3_600_000 };
      const d = decide({ type: 'IssueCoupon', userId: user, claims, human, ...(pass ? { pass } : {}) }, state, Date.now());
      const [r, events] = await appended(couponId, () => store.issue(couponId, user, uuidv7(), {}, internalRequest(), JSON.stringify(claims), human ? '1' : '', pass));
      assert.is(r.outcome, d.outcome, where);
      assert.is(drafts(events), canonical(d.events), where);
      fold(couponId, events);
      count(`issue ${d.outcome}`);
    } else {
      const d = decide({ type: 'CloseIssuance' }, state, Date.now());
      const [r, events] = await appended(couponId, () => store.close(couponId, uuidv7(), {}, internalRequest()));
      assert.is(r.outcome, d.outcome, where);
      fold(couponId, events);
    }
  }
  for (const outcome of ['join JOINED', 'join JOINED again', 'join NOT_A_QUEUE', 'join HUMAN_CHECK_FAILED', 'join IDENTITY_REQUIRED',
    'join COUPON_CLOSED', 'join ISSUE_ENDED', 'join SOLD_OUT', 'join QUEUE_NOT_OPEN', 'join NOT_ELIGIBLE', 'grant', 'metered',
    'issue ISSUED', 'issue PASS_REQUIRED', 'issue PASS_EXPIRED', 'issue ALREADY_ISSUED', 'issue SOLD_OUT', 'issue PERSON_ALREADY_ISSUED']) {
    assert.ok((tally.get(outcome) ?? 0) > 0, `no command reached ${outcome}: ${JSON.stringify([...tally])}`);
  }
});

equivalence.run();
