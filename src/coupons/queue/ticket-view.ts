import { z } from 'zod';
import type { Room, Standing } from '../admission/queue-scripts.ts';
import type { QueuePasses } from './queue-passes.ts';

export const ticketSchema = z.object({
  couponId: z.string(),
  ticket: z.number().int(),
  /** `pre`: joined before the start, placed by the shuffle at it; `line`: joined after, served in arrival order. */
  phase: z.enum(['pre', 'line']),
  status: z.enum(['PRE_QUEUE', 'WAITING', 'PASS_GRANTED', 'PASS_EXPIRED', 'ISSUED', 'SOLD_OUT', 'CLOSED', 'ENDED']),
  /** Place in the line (1 = next), fixed once placed; null in the pre-queue. */
  place: z.number().int().nullable(),
  /** People ahead still waiting for a pass; null in the pre-queue. */
  ahead: z.number().int().nullable(),
  /** From the pass rate measured over the last seconds (admitPerSecond before any); null when not waiting. */
  estimatedWaitSeconds: z.number().int().nullable(),
  issueStartAt: z.string(),
  /** Present once granted and while live: show it in the Queue-Pass header of the issue request. */
  pass: z.object({ token: z.string(), expiresAt: z.string() }).nullable(),
});
export type TicketView = z.infer<typeof ticketSchema>;

/**
 * States after which nothing more will happen to a ticket (a lapsed pass is not granted again): a stream says so
 * and ends. A sell-out is not one: stock an admin adds reopens the room, and a stream told SOLD_OUT, which costs no
 * read while the room stays sold out, then hears its place and its pass.
 */
export const FINAL: ReadonlySet<TicketView['status']> = new Set(['ISSUED', 'PASS_EXPIRED', 'CLOSED', 'ENDED']);

/**
 * A caller's ticket as they are shown it: holding the coupon first, then a room that is over, then their pass, then
 * where they wait. `rate`: passes per second measured lately.
 */
export function ticketView(couponId: string, room: Room, standing: Standing & { ticket: NonNullable<Standing['ticket']> }, rate: number, passes: QueuePasses): TicketView {
  const { place, passUntil } = standing;
  const base = {
    couponId, ticket: standing.ticket.ticket, phase: standing.ticket.phase, issueStartAt: new Date(room.issueStartAt).toISOString(),
    place: place === undefined ? null : place + 1, ahead: null, estimatedWaitSeconds: null, pass: null,
  };
  if (standing.holds) return { ...base, status: 'ISSUED' };
  if (room.state === 'SOLD_OUT' || room.state === 'CLOSED' || room.state === 'ENDED') return { ...base, status: room.state };
  if (passUntil !== undefined && passUntil > room.now) {
    return { ...base, status: 'PASS_GRANTED', pass: { token: passes.sign(couponId, standing.person, passUntil), expiresAt: new Date(passUntil).toISOString() } };
  }
  if (place === undefined) return { ...base, status: 'PRE_QUEUE' };
  if (place < room.head) return { ...base, status: 'PASS_EXPIRED' };
  const ahead = place - room.head;
  const untilStart = Math.max(0, room.issueStartAt - room.now) / 1000;
  return { ...base, status: 'WAITING', ahead, estimatedWaitSeconds: Math.ceil(untilStart + (ahead + 1) / Math.max(rate, 0.001)) };
}
