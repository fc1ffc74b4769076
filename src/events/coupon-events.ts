import { z } from 'zod';

/**
 * The events of the log (`coupon.events`), as the one definition every producer and consumer validates
 * against. A change to an event's data is a new `version`; consumers keep reading the old ones.
 */

const isoInstant = z.iso.datetime({ offset: true });
const id = z.string().min(1).max(64);
const userId = z.string().min(1).max(191);

export const discountSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('PERCENT'), value: z.number().int().min(1).max(100) }),
  z.strictObject({ type: z.literal('AMOUNT'), value: z.number().positive().max(1_000_000_000).multipleOf(0.01) }),
]);
export type Discount = z.infer<typeof discountSchema>;

export const couponCreatedData = z.strictObject({
  name: z.string().min(1).max(100),
  totalQuantity: z.number().int().min(1).max(10_000_000),
  discount: discountSchema,
  issueStartAt: isoInstant,
  issueEndAt: isoInstant,
  validFrom: isoInstant,
  validUntil: isoInstant,
  /** Since codes: the coupon's code in capitals (older CouponCreated events have none). */
  code: z.string().min(4).max(32).optional(),
});

export const couponIssuedData = z.strictObject({
  issuedCouponId: id,
  userId,
  validFrom: isoInstant,
  validUntil: isoInstant,
});

/**
 * CouponUsed v2: `orderId` always present, null when the use named no order (the order a later cancellation
 * must name). v1, in the log from before, has it only when given; it is upcast when read (see UPCASTS).
 */
export const couponUsedData = z.strictObject({
  issuedCouponId: id,
  userId,
  /** The nth use of this coupon, so a count of uses is max(useSequence) and survives redelivery. */
  useSequence: z.number().int().min(1),
  orderId: z.string().min(1).max(100).nullable(),
});

export const couponIssuanceClosedData = z.strictObject({});

/**
 * The issue window moved by an admin: the window after the change, both ends. Applied in log order (a copy
 * the relay writes again is part of a re-sent run of the outbox, so the latest change still comes last).
 */
export const couponIssueWindowChangedData = z.strictObject({ issueStartAt: isoInstant, issueEndAt: isoInstant });

/** Stock raised by an admin during the coupon's life; `totalQuantity` is the total after it (stock only grows). */
export const couponStockAddedData = z.strictObject({
  add: z.number().int().min(1).max(10_000_000),
  totalQuantity: z.number().int().min(1).max(10_000_000),
});

const meta = z.strictObject({
  requestId: z.string().max(100).optional(),
  actor: z.string().max(191).optional(),
});

const envelope = <T extends string, D extends z.ZodType, V extends number = 1>(type: T, data: D, version = 1 as V) =>
  z.strictObject({
    eventId: z.uuid(),
    type: z.literal(type),
    version: z.literal(version),
    couponId: z.uuid(),
    occurredAt: isoInstant,
    data,
    meta,
  });

export const couponEventSchema = z.discriminatedUnion('type', [
  envelope('CouponCreated', couponCreatedData),
  envelope('CouponIssued', couponIssuedData),
  envelope('CouponUsed', couponUsedData, 2),
  envelope('CouponIssuanceClosed', couponIssuanceClosedData),
  envelope('CouponStockAdded', couponStockAddedData),
  envelope('CouponIssueWindowChanged', couponIssueWindowChangedData),
]);

export type CouponEvent = z.infer<typeof couponEventSchema>;
export type CouponEventType = CouponEvent['type'];
export type EventOf<T extends CouponEventType> = Extract<CouponEvent, { type: T }>;
export const COUPON_EVENT_TYPES = ['CouponCreated', 'CouponIssued', 'CouponUsed', 'CouponIssuanceClosed', 'CouponStockAdded', 'CouponIssueWindowChanged'] as const satisfies readonly CouponEventType[];

export class InvalidEventError extends Error {
  constructor(
    message: string,
    readonly raw: unknown,
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

type RawEvent = { type?: unknown; version?: unknown; data?: unknown };

/**
 * Older shapes of an event, each turned into the next version where events are read, so every consumer sees
 * only the latest. The admission scripts write the first shape of each event into the outbox; the relay
 * produces it upcast, and the log keeps whatever older versions it already holds.
 */
const UPCASTS: Record<string, (event: RawEvent) => RawEvent> = {
  'CouponUsed@1': (event) => ({ ...event, version: 2, data: { orderId: null, ...(event.data as object) } }),
};

function upcast(raw: RawEvent): RawEvent {
  let event = raw;
  for (let step = UPCASTS[`${String(event.type)}@${String(event.version)}`]; step; step = UPCASTS[`${String(event.type)}@${String(event.version)}`]) event = step(event);
  return event;
}

/** Validates an event read from anywhere (outbox, log), upcast to its latest version; an invalid one is an error for the caller to dead-letter. */
export function parseCouponEvent(raw: unknown): CouponEvent {
  const result = couponEventSchema.safeParse(typeof raw === 'object' && raw !== null ? upcast(raw as RawEvent) : raw);
  if (!result.success) {
    const where = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidEventError(`invalid coupon event: ${where}`, raw);
  }
  return result.data;
}
