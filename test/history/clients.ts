import { setTimeout as sleep } from 'node:timers/promises';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { issuedCouponId, uuidv7 } from '../../src/ids/ids.ts';
import type { Redis } from '../../src/redis/redis-client.ts';
import type { Recorder } from './recorder.ts';
import { ADMIN, attempt, Belief, nextRequest, USERS, type Coupon, type Send } from './workload.ts';

const between = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
/** Open coupons the clients keep: one closed (or revoked) is replaced by a new one, up to a total. */
const OPEN = 4;
const MAX_COUPONS = 40;

/** A small coupon (2 to 8), open now; some admit only an allow-list, uploaded at once. Retried under its key until created. */
export async function createCoupon(send: Send, rng: () => number, belief: Belief, client: string): Promise<Coupon> {
  const now = Date.now();
  const at = (ms: number) => new Date(now + ms).toISOString();
  const allowList = rng() < 0.3;
  const definition = {
    name: `History ${belief.coupons.length + 1}`, totalQuantity: between(rng, 2, 8), discount: { type: 'PERCENT', value: 10 },
    issueStartAt: at(-60_000), issueEndAt: at(3_600_000), validFrom: at(-60_000), validUntil: at(7_200_000), ...(allowList ? { eligibility: { allowList: true } } : {}),
  };
  const key = `${client}-create-${now}-${Math.floor(rng() * 1e9)}`;
  for (let tries = 0; ; tries++) {
    const op = await send(client, 'create', '', ADMIN, { definition }, key, 4_000);
    if (op.answer.type === 'answered' && op.answer.status === 201) {
      const coupon = { id: op.couponId, closed: false, createdAt: now };
      belief.coupons.push(coupon);
      if (allowList) await attempt(send, rng, client, 'allow-list', coupon.id, ADMIN, { userIds: USERS.filter(() => rng() < 0.8) });
      return coupon;
    }
    if (op.answer.type === 'answered' || tries > 50) throw new Error(`could not create a coupon: ${JSON.stringify(op.answer)}`);
    await sleep(200);
  }
}

/** One client: requests one after another with a short pause, until told to stop. */
export async function runClient(name: string, send: Send, rng: () => number, belief: Belief, stopped: () => boolean): Promise<void> {
  let orders = 0;
  while (!stopped()) {
    const request = nextRequest(rng, belief, () => `${name}-${++orders}`);
    if (!request) continue;
    if ((request.kind === 'close' || request.kind === 'revoke') && belief.coupons.length >= MAX_COUPONS) Object.assign(request, { kind: 'stock', params: { add: 1 } });
    const op = await attempt(send, rng, name, request.kind, request.couponId, request.actor, request.params);
    belief.learn(op);
    if (op.answer.type === 'answered' && op.answer.status === 200 && (op.kind === 'close' || op.kind === 'revoke')) {
      if (belief.coupons.filter((c) => !c.closed).length < OPEN) await createCoupon(send, rng, belief, name);
    }
    await sleep(between(rng, 20, 90));
  }
}

/** Writes a use as a Redis from before cancellations did: a bare instant in the used hash, a CouponUsed v2 (order, no generation). */
const LEGACY_USE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = redis.call('HINCRBY', KEYS[1], 'usd', 1)
redis.call('HSET', KEYS[2], ARGV[1], now)
local data = cjson.encode({ issuedCouponId = ARGV[3], userId = ARGV[4], useSequence = seq, orderId = ARGV[5] })
redis.call('XADD', KEYS[3], '*', 't', 'CouponUsed', 'e', ARGV[2], 'c', ARGV[6], 'at', now, 'd', data, 'm', ARGV[7], 'v', '2')
return now`;

/**
 * A coupon whose first holders used it before cancellations existed (as an upgraded deployment has): issued
 * through the API, then used the old way, each use recorded as a request of its holder's.
 */
export async function legacyCoupon(send: Send, belief: Belief, recorder: Recorder, redis: Redis, shards: number): Promise<Coupon> {
  const coupon = await createCoupon(send, () => 0.99, belief, 'setup');
  const k = couponKeys(coupon.id, shards);
  for (const userId of USERS.slice(0, 4)) {
    const issued = await attempt(send, () => 0.99, 'setup', 'issue', coupon.id, { userId, role: 'user' }, {});
    belief.learn(issued);
  }
  for (const [i, userId] of USERS.slice(0, 3).entries()) {
    const sequence = belief.holders.get(coupon.id)?.get(userId);
    if (sequence === undefined) continue;
    const orderId = `legacy-order-${i + 1}`;
    const id = `legacy.${i + 1}`;
    const invokedAt = Date.now();
    const usedAt = Number(await redis.eval(LEGACY_USE, 3, k.coupon, k.used, k.outbox, String(sequence), uuidv7(), issuedCouponId(coupon.id, sequence), userId, orderId,
      coupon.id, JSON.stringify({ requestId: id, actor: userId })));
    const body = { issuedCouponId: issuedCouponId(coupon.id, sequence), status: 'USED', usedAt: new Date(usedAt).toISOString(), orderId };
    recorder.operations.push({ id, client: 'legacy', kind: 'use', couponId: coupon.id, actor: { userId, role: 'user' }, params: { sequence, orderId }, invokedAt,
      completedAt: Date.now(), answer: { type: 'answered', status: 200, body, replayed: false } });
    belief.orders.set(`${coupon.id}.${sequence}`, orderId);
  }
  return coupon;
}
