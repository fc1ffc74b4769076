import { setTimeout as sleep } from 'node:timers/promises';
import { parseIssuedCouponId } from '../../src/ids/ids.ts';
import type { Actor, Kind, Operation, Params } from './recorder.ts';

/** A small deterministic generator (mulberry32): the same seed makes the same choices (timing still varies). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const between = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

export const ADMIN: Actor = { userId: 'history-admin', role: 'admin' };
export const SERVICE: Actor = { userId: 'order-system', role: 'service' };
export const USERS = Array.from({ length: 24 }, (_, i) => `u${i}`);

export interface Coupon {
  id: string;
  closed: boolean;
  createdAt: number;
}

/**
 * What the clients believe, learned from answers: who holds which coupon and the order each last used. It only
 * steers the choice of requests toward ones that matter; the checker never trusts it.
 */
export class Belief {
  readonly coupons: Coupon[] = [];
  readonly holders = new Map<string, Map<string, number>>();
  readonly orders = new Map<string, string | undefined>();

  learn(op: Operation): void {
    const a = op.answer;
    if (a.type !== 'answered') return;
    const held = typeof a.body.issuedCouponId === 'string' ? parseIssuedCouponId(a.body.issuedCouponId) : undefined;
    if (op.kind === 'issue' && held) this.holders.set(op.couponId, (this.holders.get(op.couponId) ?? new Map()).set(op.actor.userId, held.sequence));
    if (op.kind === 'use' && a.status === 200) this.orders.set(`${op.couponId}.${op.params.sequence}`, op.params.orderId);
    if ((op.kind === 'close' || op.kind === 'revoke') && a.status === 200) this.coupons.find((c) => c.id === op.couponId)!.closed = true;
  }

  /** A holder, most often of a coupon still open (a closed campaign's holders matter less and less). */
  holding(rng: () => number): { couponId: string; userId: string; sequence: number } | undefined {
    const open = new Set(this.coupons.filter((c) => !c.closed).map((c) => c.id));
    const all = [...this.holders].filter(([couponId]) => open.has(couponId) || rng() < 0.2)
      .flatMap(([couponId, users]) => [...users].map(([userId, sequence]) => ({ couponId, userId, sequence })));
    return all.length === 0 ? undefined : pick(rng, all);
  }
}

/** Sends one request, to the API process `api` names (its index) or to one chosen at random. */
export interface Send {
  (client: string, kind: Kind, couponId: string, actor: Actor, params: Params, key: string | undefined, timeoutMs: number, api?: number): Promise<Operation>;
}

/**
 * One request as a client makes it: with an Idempotency-Key most of the time; on an unknown outcome or a 503
 * it tries again, with the same key sometimes and as a new request other times.
 */
export async function attempt(send: Send, rng: () => number, client: string, kind: Kind, couponId: string, actor: Actor, params: Params): Promise<Operation> {
  let key = rng() < 0.7 ? `${client}-${Date.now()}-${Math.floor(rng() * 1e9)}` : undefined;
  for (let tries = 0; ; tries++) {
    const timeoutMs = rng() < 0.12 ? between(rng, 150, 400) : 4_000;
    const op = await send(client, kind, couponId, actor, params, key, timeoutMs);
    if (op.answer.type === 'answered' || tries === 3) return op;
    await sleep(between(rng, 50, 300));
    if (!(key && rng() < 0.6)) key = rng() < 0.5 ? `${client}-${Date.now()}-${Math.floor(rng() * 1e9)}` : undefined;
  }
}

/** The next request a client makes, with its parameters, chosen from what the clients believe. */
export function nextRequest(rng: () => number, belief: Belief, orderNo: () => string): { kind: Kind; couponId: string; actor: Actor; params: Params } | undefined {
  const open = belief.coupons.filter((c) => !c.closed);
  const anyCoupon = () => (open.length > 0 && rng() < 0.9 ? pick(rng, open) : pick(rng, belief.coupons)).id;
  const r = rng();
  if (r < 0.56) return { kind: 'issue', couponId: anyCoupon(), actor: { userId: pick(rng, USERS), role: 'user' }, params: {} };
  const held = belief.holding(rng);
  if (r < 0.8 && held) {
    const who = rng();
    const actor = who < 0.55 ? { userId: held.userId, role: 'user' as const } : who < 0.85 ? SERVICE : who < 0.9 ? ADMIN : { userId: pick(rng, USERS), role: 'user' as const };
    const onBehalfOf = actor.role === 'user' && who < 0.95 ? undefined : held.userId;
    return { kind: 'use', couponId: held.couponId, actor, params: { sequence: held.sequence, onBehalfOf, orderId: rng() < 0.85 ? `o-${orderNo()}` : undefined } };
  }
  if (r < 0.98 && held) {
    const who = rng();
    const actor = who < 0.6 ? SERVICE : who < 0.8 ? ADMIN : { userId: held.userId, role: 'user' as const };
    const last = belief.orders.get(`${held.couponId}.${held.sequence}`);
    const orderId = rng() < 0.7 ? last : rng() < 0.5 ? undefined : `o-${orderNo()}`;
    return { kind: 'cancel', couponId: held.couponId, actor, params: { sequence: held.sequence, orderId } };
  }
  return adminRequest(rng, anyCoupon());
}

function adminRequest(rng: () => number, couponId: string): { kind: Kind; couponId: string; actor: Actor; params: Params } {
  const r = rng();
  const now = Date.now();
  const at = (ms: number) => new Date(now + ms).toISOString();
  if (r < 0.3) return { kind: 'stock', couponId, actor: ADMIN, params: { add: between(rng, 1, 3) } };
  if (r < 0.6) {
    const w = rng();
    const params = w < 0.5 ? { issueEndAt: at(between(rng, 4_000, 25_000)) } : w < 0.85 ? { issueEndAt: at(3_600_000) }
      : w < 0.93 ? { issueStartAt: at(-30_000) } : { issueEndAt: at(-1_000) };
    return { kind: 'window', couponId, actor: ADMIN, params };
  }
  if (r < 0.87) return { kind: 'allow-list', couponId, actor: ADMIN, params: { userIds: USERS.filter(() => rng() < 0.8) } };
  if (r < 0.98) return { kind: 'drop-allow-list', couponId, actor: ADMIN, params: {} };
  return { kind: rng() < 0.5 ? 'close' : 'revoke', couponId, actor: ADMIN, params: {} };
}
