import type { EventOf } from '../../events/coupon-events.ts';
import type { Opening } from '../../events/queue-events.ts';

/**
 * A coupon that opens through a waiting room (../queue), as the log tells it: who holds which ticket, the seed the
 * pre-queue was shuffled with, how many places have been handed passes, and the passes not yet used nor lapsed.
 */
export interface QueueState {
  admitPerSecond: number;
  passTtlMs: number;
  preQueueFrom?: number;
  /** person → their ticket (the nth join) and whether they joined before the start (`pre`, shuffled) or after (`line`). */
  tickets: Map<string, { ticket: number; phase: 'pre' | 'line' }>;
  seed?: string;
  /** Places (0-based, in line order) handed a pass so far. */
  head: number;
  /** person → when their pass lapses (epoch ms): granted, neither used nor lapsed yet. */
  passes: Map<string, number>;
}

/** The pass an asker showed: the person it was signed for, and whether its own expiry had passed. */
export interface ShownPass {
  person: string;
  expired: boolean;
}

export function queueOf(opening: Opening | undefined): QueueState | undefined {
  if (opening?.mode !== 'queue') return undefined;
  return {
    admitPerSecond: opening.admitPerSecond, passTtlMs: opening.passTtlSeconds * 1000,
    ...(opening.preQueueFrom ? { preQueueFrom: Date.parse(opening.preQueueFrom) } : {}),
    tickets: new Map(), head: 0, passes: new Map(),
  };
}

/**
 * In queue mode an issue needs the asker's own pass, live in the coupon's record and by its own expiry: one signed
 * for another person is no pass, one lapsed or already used is an expired one. Checked after every rule that
 * answers anyone alike (closed, window, stock) and after eligibility and the person, as issue.lua checks it.
 */
export function passRefusal(queue: QueueState | undefined, person: string, pass: ShownPass | undefined, now: number): 'PASS_REQUIRED' | 'PASS_EXPIRED' | undefined {
  if (!queue) return undefined;
  if (pass?.person !== person) return 'PASS_REQUIRED';
  const until = queue.passes.get(person);
  if (pass.expired || until === undefined || until <= now) return 'PASS_EXPIRED';
  return undefined;
}

/** Passes granted and live at `at`: each holds a coupon of the stock for its person until used or lapsed. */
export const livePasses = (queue: Pick<QueueState, 'passes'>, at: number): number => [...queue.passes.values()].filter((until) => until > at).length;

type QueueEvent = EventOf<'CouponQueueJoined' | 'CouponQueueShuffled' | 'CouponPassesGranted' | 'CouponPassesExpired'>;

/** How each waiting-room event changes the queue; a copy of one already folded changes nothing. */
export function foldQueue(queue: QueueState | undefined, event: QueueEvent): void {
  if (!queue) return;
  switch (event.type) {
    case 'CouponQueueJoined':
      if (!queue.tickets.has(event.data.person)) queue.tickets.set(event.data.person, { ticket: event.data.ticket, phase: event.data.phase });
      return;
    case 'CouponQueueShuffled':
      queue.seed ??= event.data.seed;
      return;
    case 'CouponPassesGranted':
      if (event.data.from < queue.head) return;
      queue.head = event.data.from + event.data.persons.length;
      for (const person of event.data.persons) queue.passes.set(person, event.data.expiresAtMs);
      return;
    case 'CouponPassesExpired':
      for (const person of event.data.persons) queue.passes.delete(person);
  }
}
