import type { Redis } from 'ioredis';
import type { CouponKeys } from '../admission/keys.ts';
import { placeKey, type QueueState } from '../rules/coupon-rules.ts';
import { stage } from './staged-keys.ts';

/** A waiting room's settings as the coupon hash keeps them (create.lua). */
export const queueFields = (queue: QueueState): Record<string, number> => ({ qr: queue.admitPerSecond, qt: queue.passTtlMs / 1000, qpf: queue.preQueueFrom ?? 0 });

/**
 * A waiting room as the log left it, written to a restore's own keys: tickets, the pre-queue, the line placed as
 * the shuffle placed it (a seed in the log means the whole pre-queue is placed: the shuffle is a function of it),
 * the places granted, the live passes and the last second's grants (so the meter counts them). Answers each room
 * key with its staged copy, for the install to put in place with the coupon.
 */
export async function stageQueue(redis: Redis, keys: CouponKeys, restoreId: string, queue: QueueState): Promise<[string, string][]> {
  const staged = keys.stagedQueue(restoreId);
  const tickets = [...queue.tickets];
  const pre = tickets.filter(([, t]) => t.phase === 'pre');
  await stage(redis, staged.meta, { entries: [['n', tickets.length], ['hd', queue.head], ...(queue.seed ? [['sd', queue.seed], ['sc', pre.length], ['sdone', 1]] as const : [])] });
  await stage(redis, staged.tickets, { entries: tickets.map(([person, t]) => [person, `${t.ticket}:${t.phase}`] as const) });
  await stage(redis, staged.pre, { scored: pre.map(([person, t]) => [person, t.ticket] as const) });
  await stage(redis, staged.line, { scored: tickets.flatMap(([person, t]) => {
    const key = placeKey(queue, person, t);
    return key === undefined ? [] : [[person, key] as const];
  }) });
  await stage(redis, staged.passes, { scored: [...queue.passes] });
  await stage(redis, staged.grants, { items: queue.recent.map((g) => `${g.at}:${g.count}`) });
  return (Object.keys(staged) as (keyof CouponKeys['queue'])[]).map((name) => [keys.queue[name], staged[name]]);
}
