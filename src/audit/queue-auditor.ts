import type { CouponEvent, EventOf } from '../events/coupon-events.ts';
import { lineOf, livePasses, remaining, type AdmissionCoupon, type QueueState } from '../coupons/rules/coupon-rules.ts';

type QueueEvent = EventOf<'CouponQueueJoined' | 'CouponQueueShuffled' | 'CouponPassesGranted' | 'CouponPassesExpired'>;

export const isQueueEvent = (event: CouponEvent): event is QueueEvent =>
  event.type === 'CouponQueueJoined' || event.type === 'CouponQueueShuffled' || event.type === 'CouponPassesGranted' || event.type === 'CouponPassesExpired';

/** A waiting-room event the queue already folded (a relay's copy): it would change nothing. */
export function queueCopy(queue: QueueState | undefined, event: QueueEvent): boolean {
  switch (event.type) {
    case 'CouponQueueJoined': return queue?.tickets.get(event.data.person)?.ticket === event.data.ticket;
    case 'CouponQueueShuffled': return queue?.seed === event.data.seed;
    case 'CouponPassesGranted': return event.data.from < (queue?.head ?? 0);
    case 'CouponPassesExpired': return !event.data.persons.some((person) => queue?.passes.has(person));
  }
}

/** The passes a coupon granted in the last second, with when: the metering a grant is judged by. */
export type RecentGrants = { at: number; count: number }[];

/**
 * A grant of passes, judged as queue-grant.lua must make them: to the next places of the line the log implies (so
 * the shuffle and arrival order are what was served), no more in any one second than `admitPerSecond`, and only
 * while stock not already promised to a live pass remains.
 */
export function judgeGrant(event: EventOf<'CouponPassesGranted'>, before: AdmissionCoupon | undefined, recent: RecentGrants, violation: (what: string) => void): void {
  const queue = before?.queue;
  if (!queue) return violation('passes granted on a coupon without a waiting room');
  const { persons, from } = event.data;
  const at = Date.parse(event.occurredAt);
  if (from !== queue.head) violation(`passes granted from place ${from}, the line's next is ${queue.head}`);
  const due = lineOf(queue).slice(from, from + persons.length);
  const wrong = persons.findIndex((person, i) => due[i] !== person);
  if (wrong >= 0) violation(`place ${from + wrong} given to ${persons[wrong]}, the log puts ${due[wrong] ?? 'nobody'} there`);
  while (recent.length > 0 && recent[0]!.at <= at - 1000) recent.shift();
  const lastSecond = recent.reduce((sum, g) => sum + g.count, 0) + persons.length;
  if (lastSecond > queue.admitPerSecond) violation(`${lastSecond} passes granted within one second, above ${queue.admitPerSecond}`);
  recent.push({ at, count: persons.length });
  const free = remaining(before) - livePasses(queue, at);
  if (persons.length > free) violation(`${persons.length} passes granted with ${free} coupons not already promised`);
}
