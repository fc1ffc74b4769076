import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date, Date>;

export interface CouponTable {
  id: string;
  name: string;
  discount_type: 'PERCENT' | 'AMOUNT';
  discount_value: ColumnType<string, string | number, string | number>;
  total_quantity: number;
  issue_start_at: Timestamp;
  issue_end_at: Timestamp;
  valid_from: Timestamp;
  valid_until: Timestamp;
  status: 'ACTIVE' | 'CLOSED';
  issued_count: Generated<number>;
  /** Uses made; in use now is `inUse` of the rules over this and cancelled_count. */
  used_count: Generated<number>;
  cancelled_count: Generated<number>;
  revoked_count: Generated<number>;
  /** When revoke-unused first ran: from then on a cancelled use leaves its coupon REVOKED (also when revoked_count > 0, from before the column). */
  unused_revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** JSON: the claims required to be issued it; NULL for none. */
  required_claims: ColumnType<string | null, string | null | undefined, string | null>;
  /** The allow-list in force (its version and size); NULL for none. */
  allow_list_version: ColumnType<number | null, number | null | undefined, number | null>;
  allow_list_size: ColumnType<number | null, number | null | undefined, number | null>;
  /** The setting revision each of window, required claims and allow-list last took (0: from before revisions). */
  window_revision: Generated<number>;
  claims_revision: Generated<number>;
  allow_list_revision: Generated<number>;
  /** A coupon with a budget: the grants of its uses in force (minor units; bigint, read as a string) and the nth change of it. */
  budget_spent_minor: Generated<string>;
  budget_revision: Generated<number>;
  created_at: Timestamp;
  closed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  last_event_at: Timestamp;
  /** The CouponCreated data, as JSON. */
  definition: ColumnType<string | null, string | null | undefined, string | null>;
  /** The coupon's code, in capitals; NULL for coupons created before codes. */
  code: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface IssuedCouponTable {
  id: string;
  coupon_id: string;
  user_id: string;
  /** HELD: a hold for an order at checkout, in force until hold_until unless it ended since (see issuedCouponStatus). */
  status: 'ISSUED' | 'HELD' | 'USED' | 'REVOKED';
  issued_at: Timestamp;
  used_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  order_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The nth use in force or last cancelled; 0 while never used. */
  use_generation: Generated<number>;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  valid_from: Timestamp;
  valid_until: Timestamp;
  /** The latest hold: its order, until when, its number (0 while never held), and how it ended (null: not yet). */
  hold_order_id: ColumnType<string | null, string | null | undefined, string | null>;
  hold_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
  hold_sequence: Generated<number>;
  hold_ended: ColumnType<'RELEASED' | 'EXPIRED' | 'USED' | null, string | null | undefined, string | null>;
}

/** One person's key for the personal fields of their events (src/privacy/person-keys.ts). */
export interface PersonKeyTable {
  key_id: string;
  person_hash: string;
  /** Null once the person was erased: the row stays as a tombstone. */
  secret: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
  created_at: Timestamp;
  erased_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface PersonKeyPepperTable {
  id: number;
  pepper: Buffer;
}

export interface CouponEventRangeTable {
  coupon_id: string;
  partition_no: number;
  first_offset: ColumnType<string, string | number | bigint, string | number | bigint>;
  last_offset: ColumnType<string, string | number | bigint, string | number | bigint>;
  events: number;
}

export interface ProjectionCheckpointTable {
  projection: string;
  topic: string;
  partition_no: number;
  next_offset: ColumnType<string, string | number | bigint, string | number | bigint>;
  last_event_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  updated_at: Timestamp;
  /** The log it was written against (src/kafka/log-identity.ts); NULL in rows from before they were recorded. */
  log_cluster_id: ColumnType<string | null, string | null | undefined, string | null>;
  log_first_record: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ProjectionDeadLetterTable {
  id: Generated<string>;
  projection: string;
  topic: string;
  partition_no: number;
  offset: ColumnType<string, string | number | bigint, never>;
  reason: string;
  payload: string | null;
  created_at: Timestamp;
}

export interface UserAccountTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: Timestamp;
}

export type NotificationType = 'COUPON_EXPIRING' | 'COUPON_USED' | 'COUPON_REVOKED';

export interface NotificationTable {
  id: string;
  user_id: string;
  type: NotificationType;
  issued_coupon_id: string;
  coupon_id: string;
  /** JSON: what the notice says beyond its keys (validUntil, usedAt, orderId). */
  data: string;
  created_at: Timestamp;
  dispatched: Generated<number>;
}

export type DeliveryChannel = 'webhook' | 'email';
export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'DEAD';

export interface NotificationDeliveryTable {
  notification_id: string;
  channel: DeliveryChannel;
  status: DeliveryStatus;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  delivered_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  updated_at: Timestamp;
}

/** A stock bucket's issues and uses of a coupon split into buckets (each its bucket's highest nth seen). */
export interface CouponBucketTable {
  coupon_id: string;
  bucket: number;
  issued_up_to: number;
  used_up_to: number;
  cancelled_up_to: number;
  revoked_up_to: number;
}

export interface Database {
  coupon: CouponTable;
  coupon_bucket: CouponBucketTable;
  issued_coupon: IssuedCouponTable;
  person_key: PersonKeyTable;
  person_key_pepper: PersonKeyPepperTable;
  coupon_event_range: CouponEventRangeTable;
  projection_checkpoint: ProjectionCheckpointTable;
  projection_dead_letter: ProjectionDeadLetterTable;
  user_account: UserAccountTable;
  notification: NotificationTable;
  notification_delivery: NotificationDeliveryTable;
}
