import { LATEST_VERSION, type CouponEvent, type CouponEventType, type EventOf } from '../../events/coupon-events.ts';

/**
 * An event a decision implies, before its executor gives it an id, a time and the request's meta: the type and
 * the data, in the latest version. The Lua scripts append the same events; a random test holds them to it.
 */
export type EventDraft = { [T in CouponEventType]: { type: T; data: EventOf<T>['data'] } }[CouponEventType];

/** A refusal: its outcome, and nothing recorded. */
export const refused = <O extends string>(outcome: O): { outcome: O; events: [] } => ({ outcome, events: [] });

/** The event a draft becomes once an executor records it: what `evolve` folds. */
export function recorded(draft: EventDraft, envelope: { eventId: string; couponId: string; occurredAt: string; meta?: CouponEvent['meta'] }): CouponEvent {
  return { ...envelope, meta: envelope.meta ?? {}, type: draft.type, version: LATEST_VERSION[draft.type], data: draft.data } as CouponEvent;
}
