import type { CouponEvent, EventOf } from '../events/coupon-events.ts';
import { decideGrant, type AdmissionCoupon, type QueueState } from '../coupons/rules/coupon-rules.ts';

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

/**
 * A grant of passes, judged by the rules (decideGrant): the next places of the line the log implies (so the shuffle
 * and arrival order are what was served), no more in any one second than admitPerSecond, and only while stock not
 * already promised to a live pass remains.
 */
export function judgeGrant(event: EventOf<'CouponPassesGranted'>, before: AdmissionCoupon | undefined, violation: (what: string) => void): void {
  const queue = before?.queue;
  if (!queue) return violation('passes granted on a coupon without a waiting room');
  const { persons, from } = event.data;
  if (from !== queue.head) violation(`passes granted from place ${from}, the line's next is ${queue.head}`);
  const due = decideGrant({ ...before, queue }, Date.parse(event.occurredAt), Number.MAX_SAFE_INTEGER);
  const wrong = persons.findIndex((person, i) => due.persons[i] !== person);
  if (wrong >= 0) {
    violation(due.persons.length > wrong ? `place ${from + wrong} given to ${persons[wrong]}, the log puts ${due.persons[wrong]} there`
      : `${persons.length} passes granted while the room (${due.state}) allowed ${due.persons.length}: the meter, the stock or the line`);
  }
}
