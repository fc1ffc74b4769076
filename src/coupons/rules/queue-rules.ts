import type { EligibilityClaims } from '../../auth/identity.ts';
import type { EventOf } from '../../events/coupon-events.ts';
import type { Opening } from '../../events/queue-events.ts';
import { remaining, settledAnswer, type AdmissionCoupon, type QueueState } from './coupon-state.ts';
import { isEligible } from './eligibility.ts';
import { refused, type EventDraft } from './event-draft.ts';
import { lineOf } from './queue-line.ts';

/** The pass an asker showed: the person it was signed for and the expiry signed into it. */
export interface ShownPass {
  person: string;
  expiresAtMs: number;
}

export function queueOf(opening: Opening | undefined): QueueState | undefined {
  if (opening?.mode !== 'queue') return undefined;
  return {
    admitPerSecond: opening.admitPerSecond, passTtlMs: opening.passTtlSeconds * 1000,
    ...(opening.preQueueFrom ? { preQueueFrom: Date.parse(opening.preQueueFrom) } : {}),
    tickets: new Map(), joined: [], head: 0, passes: new Map(), recent: [],
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
  if (pass.expiresAtMs <= now || until === undefined || until <= now) return 'PASS_EXPIRED';
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
      if (queue.tickets.has(event.data.person)) return;
      queue.tickets.set(event.data.person, { ticket: event.data.ticket, phase: event.data.phase });
      queue.joined.push(event.data.person);
      return;
    case 'CouponQueueShuffled':
      queue.seed ??= event.data.seed;
      return;
    case 'CouponPassesGranted':
      if (event.data.from < queue.head) return;
      queue.head = event.data.from + event.data.persons.length;
      for (const person of event.data.persons) queue.passes.set(person, event.data.expiresAtMs);
      queue.recent = [...grantedWithin(queue, Date.parse(event.occurredAt)), { at: Date.parse(event.occurredAt), count: event.data.persons.length }];
      return;
    case 'CouponPassesExpired':
      for (const person of event.data.persons) queue.passes.delete(person);
  }
}

/** The grants counted against the second that ends at `now`. */
const grantedWithin = (queue: QueueState, now: number) => queue.recent.filter((g) => g.at > now - 1_000);

export type RoomState = 'OPEN' | 'SHUFFLING' | 'NOT_STARTED' | 'ENDED' | 'SOLD_OUT' | 'CLOSED';
const ROOM_OF = { COUPON_CLOSED: 'CLOSED', ISSUE_NOT_STARTED: 'NOT_STARTED', ISSUE_ENDED: 'ENDED', SOLD_OUT: 'SOLD_OUT' } as const;

/** Where a waiting room stands at `now`: its coupon's settled answer first, then whether its pre-queue is placed. */
export function roomState(coupon: AdmissionCoupon & { queue: QueueState }, now: number): RoomState {
  const settled = settledAnswer(coupon, now);
  if (settled) return ROOM_OF[settled];
  return coupon.queue.seed === undefined ? 'SHUFFLING' : 'OPEN';
}

/** The person a waiting-room caller is: the coupon's person claim in their token, or their account; undefined when the claim is missing. */
export function personOf(coupon: Pick<AdmissionCoupon, 'onePer'>, userId: string, claims: EligibilityClaims): string | undefined {
  if (coupon.onePer === undefined) return userId;
  const person = Object.hasOwn(claims, coupon.onePer) ? claims[coupon.onePer] : undefined;
  return typeof person === 'string' && person !== '' ? person : undefined;
}

export type JoinDecision =
  | { outcome: 'JOINED'; person: string; ticket: number; phase: 'pre' | 'line'; created: boolean; events: EventDraft[] }
  | { outcome: 'COUPON_NOT_FOUND' | 'NOT_A_QUEUE' | 'HUMAN_CHECK_FAILED' | 'IDENTITY_REQUIRED' | 'COUPON_CLOSED' | 'ISSUE_ENDED' | 'SOLD_OUT' | 'QUEUE_NOT_OPEN' | 'NOT_ELIGIBLE'; events: [] };

/**
 * A join, as queue-join.lua decides it: the bot gate, the person, their first ticket if they hold one (a holder
 * does: only a pass, granted to a ticket, admits), then nobody to a room that is over, not open yet, or whose
 * coupon they could not be issued. Before
 * the start (while no seed is drawn) the ticket goes to the pre-queue; after, to the end of the line.
 */
export function decideJoin(coupon: AdmissionCoupon | undefined, userId: string, claims: EligibilityClaims, now: number, human = false): JoinDecision {
  if (!coupon) return refused('COUPON_NOT_FOUND');
  const queue = coupon.queue;
  if (!queue) return refused('NOT_A_QUEUE');
  if (coupon.humanCheck && !human) return refused('HUMAN_CHECK_FAILED');
  const person = personOf(coupon, userId, claims);
  if (person === undefined) return refused('IDENTITY_REQUIRED');
  const mine = queue.tickets.get(person);
  if (mine) return { outcome: 'JOINED', person, ...mine, created: false, events: [] };
  if (coupon.status === 'CLOSED') return refused('COUPON_CLOSED');
  if (now >= coupon.issueEndAt) return refused('ISSUE_ENDED');
  if (remaining(coupon) === 0) return refused('SOLD_OUT');
  if (now < (queue.preQueueFrom ?? 0)) return refused('QUEUE_NOT_OPEN');
  if (!isEligible(coupon, userId, claims)) return refused('NOT_ELIGIBLE');
  const ticket = queue.tickets.size + 1;
  const phase = now < coupon.issueStartAt && queue.seed === undefined ? 'pre' : 'line';
  return { outcome: 'JOINED', person, ticket, phase, created: true, events: [{ type: 'CouponQueueJoined', data: { person, userId, ticket, phase } }] };
}

/**
 * The passes a step may grant at `now`, as queue-grant.lua grants them (after expiring lapsed ones): in an open
 * room, the next places of the line, at most `most`, no more than admitPerSecond less those granted in the last
 * second, and no more than the stock not already promised to a live pass.
 */
export function decideGrant(coupon: AdmissionCoupon & { queue: QueueState }, now: number, most: number): { state: RoomState; persons: string[] } {
  const { queue } = coupon;
  const state = roomState(coupon, now);
  if (state !== 'OPEN') return { state, persons: [] };
  const metered = queue.admitPerSecond - grantedWithin(queue, now).reduce((sum, g) => sum + g.count, 0);
  const room = Math.min(metered, remaining(coupon) - livePasses(queue, now), most);
  return { state, persons: room > 0 ? lineOf(queue).slice(queue.head, queue.head + room) : [] };
}
