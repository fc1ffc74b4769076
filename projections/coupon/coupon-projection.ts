import { sql, type RawBuilder } from 'kysely';
import type { Insertable, Transaction } from 'kysely';
import type { CouponTable, Database } from '../../src/db/schema.ts';
import type { EventOf } from '../../src/events/coupon-events.ts';
import { parseIssuedCouponId } from '../../src/ids/ids.ts';
import { chunks } from '../../src/batching/chunks.ts';
import { caseWhen, type Projection, type Tables } from '../projection.ts';

export interface CouponProgress {
  /** Highest issue sequence seen: issued_count = max, so a redelivered CouponIssued changes nothing. */
  issuedUpTo?: number;
  /** Highest use, cancel and revoked-total sequences seen, likewise. */
  usedUpTo?: number;
  cancelledUpTo?: number;
  revokedUpTo?: number;
  closedAt?: Date;
  /** The first revoke-unused chunk seen: from then on cancelled uses leave coupons REVOKED. */
  unusedRevokedAt?: Date;
  /** Highest total seen: stock only grows, so a redelivered CouponStockAdded changes nothing. */
  totalQuantity?: number;
  /**
   * The newest change of each setting in the batch, by its setting revision (see coupon-rules' takesEffect): the
   * window, required claims (null: none), the allow-list in force (version null: none). The row takes one only
   * over an older revision, so a late copy of an older change moves nothing.
   */
  window?: { issueStartAt: string; issueEndAt: string; revision: number };
  requiredClaims?: { value: string | null; revision: number };
  allowList?: { version: number | null; size: number; revision: number };
  /** A coupon with a budget: the latest spent figure in the batch, by the nth change of the budget. */
  budget?: { revision: number; spentMinor: number };
  /** A coupon split into stock buckets: each bucket's highest nth issue, use, cancellation and revocation seen (the counts are their sums). */
  buckets?: Map<number, BucketProgress>;
  lastEventAt: Date;
}

export interface CouponChanges {
  created: Insertable<CouponTable>[];
  progress: Map<string, CouponProgress>;
}

/** Whether `change` is newer than `applied`, by setting revision (changes from before revisions, 0, in log order). */
const newer = (applied: { revision: number } | undefined, change: { revision: number }): boolean =>
  !applied || (change.revision === 0 ? applied.revision === 0 : change.revision > applied.revision);

/**
 * `target` takes each coupon's new value only over an older revision of its setting (`revisionColumn`, raised
 * after it by `raised`: MariaDB assigns a row's columns left to right, each seeing the ones before).
 */
function guarded(target: string, revisionColumn: string, changes: [string, number, unknown][]): RawBuilder<unknown> {
  const [old, applied] = [sql.ref(target), sql.ref(revisionColumn)];
  const whens = changes.map(([id, revision, value]) => sql`WHEN ${id} THEN IF(${revision} > ${applied} OR (${revision} = 0 AND ${applied} = 0), ${value}, ${old})`);
  return sql`${old} = CASE id ${sql.join(whens, sql` `)} ELSE ${old} END`;
}

const raised = (revisionColumn: string, changes: readonly (readonly [string, { revision: number }])[]): RawBuilder<unknown> =>
  sql`${sql.ref(revisionColumn)} = GREATEST(${sql.ref(revisionColumn)}, ${caseWhen('id', changes.map(([id, c]) => [id, c.revision]), sql`0`)})`;

interface BucketProgress {
  issuedUpTo: number;
  usedUpTo: number;
  cancelledUpTo: number;
  revokedUpTo: number;
}

function bucketOf(p: CouponProgress, bucket: number): BucketProgress {
  p.buckets ??= new Map();
  let b = p.buckets.get(bucket);
  if (!b) p.buckets.set(bucket, (b = { issuedUpTo: 0, usedUpTo: 0, cancelledUpTo: 0, revokedUpTo: 0 }));
  return b;
}

/** An issue counted by its sequence (issued in order), or on a bucketed coupon by its bucket's nth issue. */
function countIssue(p: CouponProgress, issued: EventOf<'CouponIssued'>['data']): void {
  if (issued.bucket === undefined) p.issuedUpTo = Math.max(p.issuedUpTo ?? 0, parseIssuedCouponId(issued.issuedCouponId)?.sequence ?? 0);
  else bucketOf(p, issued.bucket).issuedUpTo = Math.max(bucketOf(p, issued.bucket).issuedUpTo, issued.bucketIssued ?? 0);
}

/** A use counted by its useSequence, the coupon's or (on a bucketed coupon) its bucket's. */
function countUse(p: CouponProgress, used: EventOf<'CouponUsed'>['data']): void {
  if (used.bucket === undefined) p.usedUpTo = Math.max(p.usedUpTo ?? 0, used.useSequence);
  else bucketOf(p, used.bucket).usedUpTo = Math.max(bucketOf(p, used.bucket).usedUpTo, used.useSequence);
}

/** A cancellation (and the revocation it made, if any) counted by its bucket's nth, or the coupon's. */
function countCancel(p: CouponProgress, cancelled: EventOf<'CouponUseCancelled'>['data']): void {
  const counts = cancelled.bucket === undefined ? undefined : bucketOf(p, cancelled.bucket);
  if (counts) counts.cancelledUpTo = Math.max(counts.cancelledUpTo, cancelled.cancelSequence);
  else p.cancelledUpTo = Math.max(p.cancelledUpTo ?? 0, cancelled.cancelSequence);
  if (!cancelled.revokedCount) return;
  if (counts) counts.revokedUpTo = Math.max(counts.revokedUpTo, cancelled.revokedCount);
  else p.revokedUpTo = Math.max(p.revokedUpTo ?? 0, cancelled.revokedCount);
}

/** The budget's spent figure after a use or a cancellation, the newest change of it. */
function spent(p: CouponProgress, after: { budgetSpentMinor?: number; budgetRevision?: number }): void {
  if (after.budgetRevision === undefined || after.budgetSpentMinor === undefined || (p.budget && p.budget.revision >= after.budgetRevision)) return;
  p.budget = { revision: after.budgetRevision, spentMinor: after.budgetSpentMinor };
}

/** A revoked total, the bucket's or the coupon's. */
function countRevoked(p: CouponProgress, revoked: EventOf<'CouponsRevoked'>['data']): void {
  if (revoked.bucket === undefined) p.revokedUpTo = Math.max(p.revokedUpTo ?? 0, revoked.revokedCount);
  else bucketOf(p, revoked.bucket).revokedUpTo = Math.max(bucketOf(p, revoked.bucket).revokedUpTo, revoked.revokedCount);
}

const BUCKET_COUNTS = [['issued_up_to', 'issued_count'], ['used_up_to', 'used_count'], ['cancelled_up_to', 'cancelled_count'], ['revoked_up_to', 'revoked_count']] as const;

/** A bucketed coupon's per-bucket counts raised, then its counts to their sums. */
async function writeBuckets(tx: Transaction<Database>, tables: Tables, progress: Map<string, CouponProgress>): Promise<void> {
  const rows = [...progress].flatMap(([couponId, p]) => [...(p.buckets ?? [])].map(([bucket, b]) => ({
    coupon_id: couponId, bucket, issued_up_to: b.issuedUpTo, used_up_to: b.usedUpTo, cancelled_up_to: b.cancelledUpTo, revoked_up_to: b.revokedUpTo,
  })));
  if (rows.length === 0) return;
  const buckets = tables.coupon_bucket!;
  for (const part of chunks(rows)) {
    await tx.insertInto(buckets as 'coupon_bucket').values(part)
      .onDuplicateKeyUpdate(Object.fromEntries(BUCKET_COUNTS.map(([column]) => [column, sql`GREATEST(${sql.ref(column)}, VALUES(${sql.ref(column)}))`])))
      .execute();
  }
  const ids = [...new Set(rows.map((r) => r.coupon_id))];
  const sums = BUCKET_COUNTS.map(([column, count]) =>
    sql`${sql.ref(count)} = GREATEST(${sql.ref(count)}, (SELECT COALESCE(SUM(${sql.ref(column)}), 0) FROM ${sql.table(buckets)} b WHERE b.coupon_id = c.id))`);
  await sql`UPDATE ${sql.table(tables.coupon!)} c SET ${sql.join(sums)} WHERE c.id IN (${sql.join(ids)})`.execute(tx);
}

/** The `coupon` read model: each coupon's definition, issued and used counts, and status. */
export const couponProjection: Projection<CouponChanges> = {
  name: 'coupon',
  tables: ['coupon', 'coupon_bucket'],
  handles: ['CouponCreated', 'CouponIssued', 'CouponUsed', 'CouponIssuanceClosed', 'CouponStockAdded', 'CouponIssueWindowChanged', 'CouponUseCancelled', 'CouponsRevoked',
    'CouponEligibilityChanged', 'CouponAllowListReplaced'],

  changes(events) {
    const created = new Map<string, Insertable<CouponTable>>();
    const progress = new Map<string, CouponProgress>();
    const touch = (couponId: string, at: Date) => {
      const p = progress.get(couponId) ?? { lastEventAt: at };
      if (at > p.lastEventAt) p.lastEventAt = at;
      progress.set(couponId, p);
      return p;
    };
    for (const e of events) {
      const at = new Date(e.occurredAt);
      switch (e.type) {
        case 'CouponCreated':
          if (!created.has(e.couponId)) {
            created.set(e.couponId, {
              id: e.couponId, name: e.data.name, discount_type: e.data.discount.type, discount_value: e.data.discount.value,
              total_quantity: e.data.totalQuantity, issue_start_at: new Date(e.data.issueStartAt), issue_end_at: new Date(e.data.issueEndAt),
              valid_from: new Date(e.data.validFrom), valid_until: new Date(e.data.validUntil), status: 'ACTIVE', created_at: at, last_event_at: at,
              definition: JSON.stringify(e.data), code: e.data.code ?? null,
              required_claims: e.data.eligibility?.requiredClaims ? JSON.stringify(e.data.eligibility.requiredClaims) : null,
              allow_list_version: e.data.eligibility?.allowList ? 0 : null, allow_list_size: e.data.eligibility?.allowList ? 0 : null,
            });
          }
          break;
        case 'CouponIssued':
          countIssue(touch(e.couponId, at), e.data);
          break;
        case 'CouponUsed':
          countUse(touch(e.couponId, at), e.data);
          spent(touch(e.couponId, at), e.data);
          break;
        case 'CouponUseCancelled':
          countCancel(touch(e.couponId, at), e.data);
          spent(touch(e.couponId, at), e.data);
          break;
        case 'CouponEligibilityChanged': {
          // A stock bucket's announcement repeats a change of the coupon's own.
          if (e.data.bucket !== undefined) break;
          const p = touch(e.couponId, at);
          const change = { value: e.data.requiredClaims ? JSON.stringify(e.data.requiredClaims) : null, revision: e.data.revision ?? 0 };
          if (newer(p.requiredClaims, change)) p.requiredClaims = change;
          break;
        }
        case 'CouponAllowListReplaced': {
          if (e.data.bucket !== undefined) break;
          const p = touch(e.couponId, at);
          const change = { version: e.data.version, size: e.data.size, revision: e.data.revision ?? 0 };
          if (newer(p.allowList, change)) p.allowList = change;
          break;
        }
        case 'CouponsRevoked': {
          const p = touch(e.couponId, at);
          countRevoked(p, e.data);
          p.unusedRevokedAt ??= at;
          break;
        }
        case 'CouponIssuanceClosed': {
          const p = touch(e.couponId, at);
          p.closedAt ??= at;
          break;
        }
        case 'CouponIssueWindowChanged': {
          if (e.data.bucket !== undefined) break;
          const p = touch(e.couponId, at);
          const change = { issueStartAt: e.data.issueStartAt, issueEndAt: e.data.issueEndAt, revision: e.data.revision ?? 0 };
          if (newer(p.window, change)) p.window = change;
          break;
        }
        case 'CouponStockAdded': {
          const p = touch(e.couponId, at);
          p.totalQuantity = Math.max(p.totalQuantity ?? 0, e.data.totalQuantity);
          break;
        }
      }
    }
    return { created: [...created.values()], progress };
  },

  async write(tx, { created, progress }, tables) {
    const table = tables.coupon!;
    for (const rows of chunks(created)) {
      await tx.insertInto(table as 'coupon').values(rows).onDuplicateKeyUpdate({ id: sql.ref('id') }).execute();
    }
    for (const part of chunks([...progress])) {
      const ids = part.map(([id]) => id);
      const column = <T>(pick: (p: CouponProgress) => T | undefined) =>
        part.flatMap(([id, p]) => (pick(p) === undefined ? [] : [[id, pick(p)] as [string, unknown]]));
      const issued = column((p) => p.issuedUpTo);
      const used = column((p) => p.usedUpTo);
      const cancelled = column((p) => p.cancelledUpTo);
      const revoked = column((p) => p.revokedUpTo);
      const closed = column((p) => p.closedAt);
      const unusedRevoked = column((p) => p.unusedRevokedAt);
      const totals = column((p) => p.totalQuantity);
      const windows = part.flatMap(([id, p]) => (p.window ? [[id, p.window] as const] : []));
      const claims = part.flatMap(([id, p]) => (p.requiredClaims ? [[id, p.requiredClaims] as const] : []));
      const lists = part.flatMap(([id, p]) => (p.allowList ? [[id, p.allowList] as const] : []));
      const budgets = part.flatMap(([id, p]) => (p.budget ? [[id, p.budget] as const] : []));
      const settings = [
        ...(windows.length ? [
          guarded('issue_start_at', 'window_revision', windows.map(([id, w]) => [id, w.revision, new Date(w.issueStartAt)])),
          guarded('issue_end_at', 'window_revision', windows.map(([id, w]) => [id, w.revision, new Date(w.issueEndAt)])),
          guarded('definition', 'window_revision', windows.map(([id, w]) => [id, w.revision, sql`JSON_SET(definition, '$.issueStartAt', ${w.issueStartAt}, '$.issueEndAt', ${w.issueEndAt})`])),
          raised('window_revision', windows),
        ] : []),
        ...(budgets.length ? [guarded('budget_spent_minor', 'budget_revision', budgets.map(([id, b]) => [id, b.revision, b.spentMinor])), raised('budget_revision', budgets)] : []),
        ...(claims.length ? [guarded('required_claims', 'claims_revision', claims.map(([id, c]) => [id, c.revision, c.value])), raised('claims_revision', claims)] : []),
        ...(lists.length ? [
          guarded('allow_list_version', 'allow_list_revision', lists.map(([id, l]) => [id, l.revision, l.version])),
          guarded('allow_list_size', 'allow_list_revision', lists.map(([id, l]) => [id, l.revision, l.version === null ? null : l.size])),
          raised('allow_list_revision', lists),
        ] : []),
      ];
      await sql`UPDATE ${sql.table(table)} SET
          issued_count = GREATEST(issued_count, ${issued.length ? caseWhen('id', issued, sql`0`) : sql`0`}),
          used_count = GREATEST(used_count, ${used.length ? caseWhen('id', used, sql`0`) : sql`0`}),
          cancelled_count = GREATEST(cancelled_count, ${cancelled.length ? caseWhen('id', cancelled, sql`0`) : sql`0`}),
          revoked_count = GREATEST(revoked_count, ${revoked.length ? caseWhen('id', revoked, sql`0`) : sql`0`}),
          closed_at = COALESCE(closed_at, ${closed.length ? caseWhen('id', closed) : sql`NULL`}),
          status = IF(closed_at IS NULL, status, 'CLOSED'),
          unused_revoked_at = COALESCE(unused_revoked_at, ${unusedRevoked.length ? caseWhen('id', unusedRevoked) : sql`NULL`}),
          total_quantity = GREATEST(total_quantity, ${totals.length ? caseWhen('id', totals, sql`0`) : sql`0`}),
          definition = IF(JSON_VALUE(definition, '$.totalQuantity') = total_quantity, definition, JSON_SET(definition, '$.totalQuantity', total_quantity)),
          ${settings.length ? sql`${sql.join(settings)},` : sql``}
          last_event_at = GREATEST(last_event_at, ${caseWhen('id', part.map(([id, p]) => [id, p.lastEventAt]))})
        WHERE id IN (${sql.join(ids)})`.execute(tx);
    }
    await writeBuckets(tx, tables, progress);
  },
};
