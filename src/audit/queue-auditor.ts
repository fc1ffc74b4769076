import type { CouponEvent, EventOf } from '../events/coupon-events.ts';
import { decideGrant, remaining, type AdmissionCoupon, type QueueState } from '../coupons/rules/coupon-rules.ts';

type QueueEvent = EventOf<'CouponQueueJoined' | 'CouponQueueShuffled' | 'CouponPassesGranted' | 'CouponPassesExpired'>;

export const isQueueEvent = (event: CouponEvent): event is QueueEvent =>
  event.type === 'CouponQueueJoined' || event.type === 'CouponQueueShuffled' || event.type === 'CouponPassesGranted' || event.type === 'CouponPassesExpired';

/**
 * A waiting-room event already folded (a relay's copy): a join by the ticket it gave, any other by its id (`seen`:
 * the ids of the coupon's events folded), so a second grant of places already served is judged, not taken for a copy.
 */
export function queueCopy(queue: QueueState | undefined, event: QueueEvent, seen: ReadonlySet<string> | undefined): boolean {
  if (event.type === 'CouponQueueJoined') return queue?.tickets.get(event.data.person)?.ticket === event.data.ticket;
  return seen?.has(event.eventId) ?? false;
}

type Violation = (what: string) => void;

/** A waiting-room event judged by the rules at its instant (queue-rules.ts); `seen` records its id (see queueCopy). */
export function judgeQueue(event: QueueEvent, before: AdmissionCoupon | undefined, violation: Violation, seen: Set<string>): void {
  if (event.type !== 'CouponQueueJoined') seen.add(event.eventId);
  const queue = before?.queue;
  if (!before || !queue) return violation('a waiting-room event on a coupon without a waiting room');
  const at = Date.parse(event.occurredAt);
  switch (event.type) {
    case 'CouponQueueJoined': return judgeJoin(event, before, queue, at, violation);
    case 'CouponQueueShuffled':
      if (queue.seed !== undefined) violation(`shuffled again with another seed (the first was ${queue.seed})`);
      if (at < before.issueStartAt) violation('the pre-queue was shuffled before the start');
      return;
    case 'CouponPassesGranted': return judgeGrant(event, { ...before, queue }, at, violation);
    case 'CouponPassesExpired':
      for (const person of event.data.persons) {
        const until = queue.passes.get(person);
        if (until === undefined) violation(`expired a pass ${person} did not hold`);
        else if (until > at) violation(`${person}'s pass expired before its time (${new Date(until).toISOString()}), giving its coupon back early`);
      }
  }
}

/**
 * A join as decideJoin allows it, as far as the log tells (not the claims nor the human check): a person's one
 * ticket, numbered next, in the pre-queue only before the start and the shuffle, and never to a room that is over or
 * not open yet.
 */
function judgeJoin(event: EventOf<'CouponQueueJoined'>, coupon: AdmissionCoupon, queue: QueueState, at: number, violation: Violation): void {
  const { person, ticket, phase } = event.data;
  if (queue.tickets.has(person)) violation(`a second ticket (${ticket}) for ${person}`);
  if (ticket !== queue.tickets.size + 1) violation(`ticket ${ticket} given, the next was ${queue.tickets.size + 1}`);
  const pre = at < coupon.issueStartAt && queue.seed === undefined;
  if ((phase === 'pre') !== pre) violation(`joined the ${phase === 'pre' ? 'pre-queue' : 'line'} ${pre ? 'before' : 'after'} the start`);
  if (coupon.status === 'CLOSED' || at >= coupon.issueEndAt || remaining(coupon) === 0) violation('joined a room that was over');
  if (at < (queue.preQueueFrom ?? 0)) violation('joined before the pre-queue opened');
}

/**
 * A grant of passes, judged by the rules (decideGrant): the next places of the line the log implies (so the shuffle
 * and arrival order are what was served), no more in any one second than admitPerSecond, only while stock not
 * already promised to a live pass remains, each pass living passTtlSeconds.
 */
function judgeGrant(event: EventOf<'CouponPassesGranted'>, before: AdmissionCoupon & { queue: QueueState }, at: number, violation: Violation): void {
  const { queue } = before;
  const { persons, from, expiresAtMs } = event.data;
  if (from !== queue.head) violation(`passes granted from place ${from}, the line's next is ${queue.head}`);
  if (expiresAtMs !== at + queue.passTtlMs) violation(`passes granted until ${new Date(expiresAtMs).toISOString()}, not passTtlSeconds after`);
  const due = decideGrant(before, at, Number.MAX_SAFE_INTEGER);
  const wrong = persons.findIndex((person, i) => due.persons[i] !== person);
  if (wrong >= 0) {
    violation(due.persons.length > wrong ? `place ${from + wrong} given to ${persons[wrong]}, the log puts ${due.persons[wrong]} there`
      : `${persons.length} passes granted while the room (${due.state}) allowed ${due.persons.length}: the meter, the stock or the line`);
  }
}
