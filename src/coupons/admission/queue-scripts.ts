import { randomBytes } from 'node:crypto';
import type { EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';
import type { HumanVerdict } from '../human-check/human-check.ts';
import { uuidv7 } from '../../ids/ids.ts';

/** Where a waiting room stands (queue-read.lua's room_state). */
export type RoomState = 'OPEN' | 'NOT_STARTED' | 'SHUFFLING' | 'SOLD_OUT' | 'CLOSED' | 'ENDED';

export type JoinResult =
  | { outcome: 'JOINED'; person: string; ticket: number; phase: 'pre' | 'line'; created: boolean }
  | { outcome: 'COUPON_NOT_FOUND' | 'NOT_A_QUEUE' | 'HUMAN_CHECK_FAILED' | 'IDENTITY_REQUIRED' | 'COUPON_CLOSED' | 'ISSUE_ENDED' | 'SOLD_OUT' | 'QUEUE_NOT_OPEN' | 'NOT_ELIGIBLE' };

export interface Room {
  state: RoomState;
  /** Places handed a pass so far. */
  head: number;
  lineLength: number;
  /** Redis's clock when read, and the issue start (epoch ms). */
  now: number;
  issueStartAt: number;
  admitPerSecond: number;
}

/** A caller's standing in the room: their ticket, place (0-based) once placed, pass expiry, and whether they hold the coupon. */
export interface Standing {
  person: string;
  ticket?: { ticket: number; phase: 'pre' | 'line' };
  place?: number;
  passUntil?: number;
  holds: boolean;
}

const ticketOf = (mark: string) => {
  const [n, phase] = mark.split(':');
  return { ticket: Number(n), phase: phase as 'pre' | 'line' };
};

/** queue-join.lua: the caller's ticket (the first one, on a second join), or why they cannot wait. */
export async function joinScript(runner: ScriptRunner, couponId: string, userId: string, meta: EventMeta, human: HumanVerdict, claims: string): Promise<JoinResult> {
  const k = runner.keys(couponId);
  const q = k.queue;
  const { reply: [outcome, person, mark, created] } = await runner.decide('queueJoin', [
    k.coupon, q.meta, q.tickets, q.pre, q.line, k.outbox, ...k.allowLists, couponId, userId, uuidv7(), JSON.stringify(meta), human, claims,
  ]);
  if (outcome !== 'JOINED') return { outcome: outcome as Exclude<JoinResult['outcome'], 'JOINED'> };
  return { outcome, person: person!, ...ticketOf(mark!), created: created === '1' };
}

/**
 * One step of the room: the pre-queue shuffled in chunks once the start has come (the seed drawn here, used only
 * by the step that records it), then lapsed passes expired and the next passes granted (queue-grant.lua).
 */
export async function stepScript(runner: ScriptRunner, couponId: string, mostPasses: number): Promise<RoomState | 'COUPON_NOT_FOUND'> {
  const k = runner.keys(couponId);
  const q = k.queue;
  const meta = JSON.stringify({ actor: 'waiting-room' });
  const grant = () => runner.decide('queueGrant', () => [k.coupon, q.meta, q.line, q.passes, q.grants, k.outbox, couponId, mostPasses, uuidv7(), uuidv7(), meta]);
  const { reply: [state] } = await grant();
  if (state !== 'SHUFFLING') return state as RoomState | 'COUPON_NOT_FOUND';
  const seed = randomBytes(16).toString('hex');
  for (let shuffled = ''; shuffled !== 'SHUFFLED';) {
    [shuffled = ''] = (await runner.decide('queueShuffle', [k.coupon, q.meta, q.pre, q.line, k.outbox, couponId, seed, 2_000, uuidv7(), meta])).reply;
    if (shuffled !== 'SHUFFLING' && shuffled !== 'SHUFFLED') return 'COUPON_NOT_FOUND';
  }
  return (await grant()).reply[0] as RoomState;
}

/** queue-read.lua: the room, and with `caller` their standing (undefined when the coupon names a person claim their token lacks). */
export async function readRoom(
  runner: ScriptRunner, couponId: string, caller?: { userId: string; claims: string },
): Promise<{ room: Room; standing?: Standing } | 'COUPON_NOT_FOUND' | 'NOT_A_QUEUE' | 'IDENTITY_REQUIRED'> {
  const k = runner.keys(couponId);
  const q = k.queue;
  const reply = await runner.read('queueRead', [k.coupon, q.meta, q.tickets, q.line, q.passes, k.holders, k.persons, caller?.userId ?? '', caller?.claims ?? '{}']);
  if (reply[0] === 'COUPON_NOT_FOUND' || reply[0] === 'NOT_A_QUEUE' || reply[0] === 'IDENTITY_REQUIRED') return reply[0];
  const [state, head, lineLength, now, start, rate, person, mark, place, passUntil, holds] = reply;
  const room = { state: state as RoomState, head: Number(head), lineLength: Number(lineLength), now: Number(now), issueStartAt: Number(start), admitPerSecond: Number(rate) };
  if (person === undefined) return { room };
  return {
    room,
    standing: {
      person, holds: holds === '1',
      ...(mark ? { ticket: ticketOf(mark) } : {}), ...(place ? { place: Number(place) } : {}), ...(passUntil ? { passUntil: Number(passUntil) } : {}),
    },
  };
}
