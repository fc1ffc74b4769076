import { z } from 'zod';
import { RESERVED_CLAIMS } from '../auth/identity.ts';
import { couponPassesExpiredData, couponPassesGrantedData, couponQueueJoinedData, couponQueueShuffledData, openingSchema } from './queue-events.ts';
import { couponHeldData, couponHoldEndedData } from './hold-events.ts';
import { budgetAfter, couponMoney, granted } from './money-events.ts';
import { bucketNumber, couponStockMovedData } from './bucket-events.ts';

/**
 * The events of the log (`coupon.events`), as the one definition every producer and consumer validates
 * against. A change to an event's data is a new `version`; consumers keep reading the old ones.
 */

const isoInstant = z.iso.datetime({ offset: true });
const id = z.string().min(1).max(64);
const userId = z.string().min(1).max(191);
/** Up to 64 stock buckets: the default 1 keeps every decision of the coupon in one Redis slot. */
export const MAX_BUCKETS = 64;

export const discountSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('PERCENT'), value: z.number().int().min(1).max(100) }),
  z.strictObject({ type: z.literal('AMOUNT'), value: z.number().positive().max(1_000_000_000).multipleOf(0.01) }),
]);
export type Discount = z.infer<typeof discountSchema>;

const claimName = z.string().min(1).max(64).regex(/^[A-Za-z_][A-Za-z0-9_.:-]*$/, 'must be a claim name such as tier or org:unit')
  .refine((name) => !RESERVED_CLAIMS.has(name), 'is a claim eligibility cannot match');

/**
 * Claims a caller's verified token must carry to be issued the coupon: for each name, one of the values
 * (a token claim holding a list matches when any of its items does). All names must match.
 */
export const requiredClaimsSchema = z.record(claimName, z.array(z.string().min(1).max(200)).min(1).max(100))
  .refine((claims) => Object.keys(claims).length >= 1 && Object.keys(claims).length <= 16, 'must name 1 to 16 claims');
export type RequiredClaims = z.infer<typeof requiredClaimsSchema>;

/** Who may be issued the coupon; `allowList`: only users on an uploaded list (none until one is uploaded). */
export const eligibilitySchema = z.strictObject({ requiredClaims: requiredClaimsSchema.optional(), allowList: z.boolean().optional() });

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
  /** Since eligibility: who may be issued it (older CouponCreated events have none: anyone). */
  eligibility: eligibilitySchema.optional(),
  /** Since stock buckets: how many Redis slots its stock is split over (absent: 1). */
  buckets: z.number().int().min(1).max(MAX_BUCKETS).optional(),
  /**
   * Since stock buckets carry settings: the admission shard each bucket lives in (bucket b at b), as placed at
   * creation, so a restore can put a lost bucketed coupon back where every process looks for it.
   */
  bucketShards: z.array(z.number().int().min(0)).min(2).max(MAX_BUCKETS).optional(),
  /**
   * Since one per person: the verified token claim naming the person (e.g. a phone number's hash); one coupon per
   * value of it, whichever account asks. Absent: one per account (the token's subject).
   */
  onePer: z.strictObject({ claim: claimName }).optional(),
  /** Since the bot gate: an issue needs a verified human check (coupons/human-check). */
  humanCheck: z.boolean().optional(),
  /** Since the waiting room: how issuing opens (absent: `direct`). */
  opening: openingSchema.optional(),
  ...couponMoney,
});

export const couponIssuedData = z.strictObject({
  issuedCouponId: id,
  userId,
  validFrom: isoInstant,
  validUntil: isoInstant,
  /** Since eligibility, when the coupon required claims: the holder's claims that qualified them, so an audit can check. */
  claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  /**
   * On a coupon split into stock buckets: the bucket that issued it and its nth issue there. Sequences then come
   * from each bucket's ranges, not in issue order, so the coupon's issued count is the sum of the buckets' counts.
   */
  bucket: bucketNumber.optional(),
  bucketIssued: z.number().int().min(1).optional(),
  /** On a coupon limited one per person: the value of its person claim the holder's token carried. */
  person: z.string().min(1).max(200).optional(),
});

const orderId = z.string().min(1).max(100).nullable();

/**
 * CouponUsed v3. v2 made `orderId` always present, null when the use named no order (the order a later
 * cancellation must name); v3 added `useGeneration`. Older versions in the log are upcast when read (see UPCASTS).
 */
export const couponUsedData = z.strictObject({
  issuedCouponId: id,
  userId,
  /** The nth use of this coupon, so a count of uses is max(useSequence) and survives redelivery. */
  useSequence: z.number().int().min(1),
  orderId,
  /** The nth use of this issued coupon (a cancelled use lets it be used again): a copy of an older use is told from a new one. */
  useGeneration: z.number().int().min(1),
  /** On a coupon split into stock buckets: the holder's bucket, where `useSequence` counts (uses are the sum over buckets). */
  bucket: bucketNumber.optional(),
  /** Since holds: the use confirmed the hold its order had (the nth hold on this coupon), which ends with it. */
  holdSequence: z.number().int().min(1).optional(),
  ...granted,
  ...budgetAfter,
});

/** A use undone because its order was cancelled: the issued coupon is usable again inside its validity. */
export const couponUseCancelledData = z.strictObject({
  issuedCouponId: id,
  /** The holder. */
  userId,
  orderId,
  /** The use it undoes. */
  useGeneration: z.number().int().min(1),
  /** The nth cancellation on this coupon: uses in force are max(useSequence) - max(cancelSequence). */
  cancelSequence: z.number().int().min(1),
  /**
   * Since v2, present when revoke-unused had run: the cancellation left the coupon REVOKED rather than usable,
   * and this is the coupon's revoked total after it (so a copy counts nothing twice). Null in a v1 event, written
   * before a cancellation could revoke: what it did is known (the coupon became usable), the rule it met is not.
   */
  revokedCount: z.number().int().min(1).nullable().optional(),
  /** On a coupon split into stock buckets: the holder's bucket, where `cancelSequence` and `revokedCount` count. */
  bucket: bucketNumber.optional(),
  ...budgetAfter,
});

/**
 * Unused coupons revoked by an admin, up to 1,000 per event: one event per chunk of a revoke-unused run
 * rather than per coupon, so revoking 100,000 holders writes 100 log entries, each one atomic decision. Since
 * v2 a run's first chunk is recorded even when it revokes nothing: from it on, revoke-unused is in force (a use
 * cancelled later leaves its coupon REVOKED).
 */
export const couponsRevokedData = z.strictObject({
  revoked: z.array(z.strictObject({ issuedCouponId: id, userId })).max(1_000),
  /** The coupon's revoked total after this chunk, so a copy of the event counts nothing twice. */
  revokedCount: z.number().int().min(0),
  /**
   * On a coupon split into stock buckets: the bucket whose holders these are, where `revokedCount` counts (a run
   * revokes bucket by bucket, and its first chunk in each bucket puts revoke-unused in force there).
   */
  bucket: bucketNumber.optional(),
});

export const couponIssuanceClosedData = z.strictObject({});

/**
 * Since v2 a setting's change carries the coupon's setting revision (one counter for the window, the required
 * claims and the allow-list): a change takes effect only over an older revision of the same setting, so a late
 * copy (a relay that stalled past its lease and sent an old entry after newer ones) changes nothing. A v1 event
 * reads as revision 0: those apply in log order.
 */
const revision = z.number().int().min(0);

/**
 * On a coupon split into stock buckets, a change reaches its other buckets after bucket 0 (the coupon's own event,
 * without `bucket`); each announces the change it took in its own outbox (with `bucket`), so each of its issues
 * follows, in the log, the settings it was decided by.
 */
const inBucket = { bucket: bucketNumber.min(1).optional() };

/** The issue window moved by an admin: the window after the change, both ends. */
export const couponIssueWindowChangedData = z.strictObject({ issueStartAt: isoInstant, issueEndAt: isoInstant, revision, ...inBucket });

/** Stock raised by an admin during the coupon's life; `totalQuantity` is the total after it (stock only grows). */
export const couponStockAddedData = z.strictObject({
  add: z.number().int().min(1).max(10_000_000),
  totalQuantity: z.number().int().min(1).max(10_000_000),
});

/** The claims required from now on (null: none). */
export const couponEligibilityChangedData = z.strictObject({ requiredClaims: requiredClaimsSchema.nullable(), revision, ...inBucket });

/**
 * Stock taken in by a bucket; when the transfer opened it after the coupon's window or claims had changed, the
 * settings it opened with (its issues are judged by them until it announces another change).
 */
export const couponStockReceivedData = couponStockMovedData.extend({
  window: z.strictObject({ issueStartAt: isoInstant, issueEndAt: isoInstant, revision }).optional(),
  eligibility: z.strictObject({ requiredClaims: requiredClaimsSchema.nullable(), revision }).optional(),
});

/** Users added to the allow-list being uploaded as `version`, up to 1,000 per event; it is not in force until replaced in. */
export const couponAllowListChunkAddedData = z.strictObject({ version: z.number().int().min(1), userIds: z.array(userId).min(1).max(1_000) });

/**
 * The allow-list in force from now on: the upload `version` (its chunks before it, deduplicated: `size` users),
 * 0 for the empty list a coupon created with `allowList` starts with, null for none (anyone may be issued it).
 */
/** With `bucket`: a stock bucket announcing the list it took its share of (`size`: that share), after bucket 0's change. */
export const couponAllowListReplacedData = z.strictObject({ version: z.number().int().min(0).nullable(), size: z.number().int().min(0), revision, ...inBucket });

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
  envelope('CouponUsed', couponUsedData, 3),
  envelope('CouponUseCancelled', couponUseCancelledData, 2),
  envelope('CouponHeld', couponHeldData),
  envelope('CouponHoldEnded', couponHoldEndedData),
  envelope('CouponsRevoked', couponsRevokedData, 2),
  envelope('CouponEligibilityChanged', couponEligibilityChangedData, 2),
  envelope('CouponAllowListChunkAdded', couponAllowListChunkAddedData),
  envelope('CouponAllowListReplaced', couponAllowListReplacedData, 2),
  envelope('CouponIssuanceClosed', couponIssuanceClosedData),
  envelope('CouponStockAdded', couponStockAddedData),
  envelope('CouponIssueWindowChanged', couponIssueWindowChangedData, 2),
  envelope('CouponStockMoved', couponStockMovedData),
  envelope('CouponStockReceived', couponStockReceivedData),
  envelope('CouponQueueJoined', couponQueueJoinedData),
  envelope('CouponQueueShuffled', couponQueueShuffledData),
  envelope('CouponPassesGranted', couponPassesGrantedData),
  envelope('CouponPassesExpired', couponPassesExpiredData),
]);

export type CouponEvent = z.infer<typeof couponEventSchema>;
export type CouponEventType = CouponEvent['type'];
export type EventOf<T extends CouponEventType> = Extract<CouponEvent, { type: T }>;
/** The version every event type is written in today (older ones are upcast where read). */
export const LATEST_VERSION = Object.fromEntries(couponEventSchema.options.map((o) => [o.shape.type.value, o.shape.version.value])) as { [T in CouponEventType]: EventOf<T>['version'] };
export const COUPON_EVENT_TYPES = ['CouponCreated', 'CouponIssued', 'CouponUsed', 'CouponIssuanceClosed', 'CouponStockAdded', 'CouponIssueWindowChanged', 'CouponUseCancelled', 'CouponsRevoked',
  'CouponEligibilityChanged', 'CouponAllowListChunkAdded', 'CouponAllowListReplaced', 'CouponStockMoved', 'CouponStockReceived',
  'CouponQueueJoined', 'CouponQueueShuffled', 'CouponPassesGranted', 'CouponPassesExpired', 'CouponHeld', 'CouponHoldEnded'] as const satisfies readonly CouponEventType[];

export class InvalidEventError extends Error {
  readonly raw: unknown;

  constructor(message: string, raw: unknown) {
    super(message);
    this.raw = raw;
    this.name = 'InvalidEventError';
  }
}

type RawEvent = { type?: unknown; version?: unknown; data?: unknown };

/**
 * Older shapes of an event, each turned into the next version where events are read, so every consumer sees
 * only the latest. An outbox entry says its version (`v`; the first when absent); the relay produces it
 * upcast, and the log keeps whatever older versions it already holds.
 */
const UPCASTS: Record<string, (event: RawEvent) => RawEvent> = {
  'CouponUsed@1': (event) => ({ ...event, version: 2, data: { orderId: null, ...(event.data as object) } }),
  // Before cancellations an issued coupon could be used only once: every older use is its first.
  'CouponUsed@2': (event) => ({ ...event, version: 3, data: { ...(event.data as object), useGeneration: 1 } }),
  // Before revoke-unused stayed in force a cancellation never revoked: null says the rule was not yet there.
  'CouponUseCancelled@1': (event) => ({ ...event, version: 2, data: { ...(event.data as object), revokedCount: null } }),
  // Before, a chunk that revoked nothing was not written: nothing to add.
  'CouponsRevoked@1': (event) => ({ ...event, version: 2 }),
  // Before revisions, changes applied in log order: revision 0.
  'CouponIssueWindowChanged@1': (event) => ({ ...event, version: 2, data: { ...(event.data as object), revision: 0 } }),
  'CouponEligibilityChanged@1': (event) => ({ ...event, version: 2, data: { ...(event.data as object), revision: 0 } }),
  'CouponAllowListReplaced@1': (event) => ({ ...event, version: 2, data: { ...(event.data as object), revision: 0 } }),
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
