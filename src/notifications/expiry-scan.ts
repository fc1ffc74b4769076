import { sql } from 'kysely';
import { uuidv7 } from '../ids/ids.ts';
import type { Db } from '../db/database.ts';
import { retryOnDeadlock } from '../db/retry-deadlock.ts';

const DAY = 86_400_000;

/**
 * One COUPON_EXPIRING notice for each issued, unused coupon (held at a checkout or not) whose validity ends within `days`. The
 * (type, issued coupon) key makes it once however often the scan runs and however many notifiers run it
 * at once. The window's ends are computed here in UTC and passed in, so no database time zone is involved.
 */
export async function scanForExpiringCoupons(db: Db, days: number, now = new Date()): Promise<{ scanned: number; notified: number }> {
  const until = new Date(now.getTime() + days * DAY);
  let scanned = 0;
  let notified = 0;
  let after = '';
  for (;;) {
    const due = await db
      .selectFrom('issued_coupon as ic')
      .select(['ic.id', 'ic.coupon_id', 'ic.user_id', 'ic.valid_until'])
      .where('ic.status', 'in', ['ISSUED', 'HELD'])
      // An erased person (src/privacy) is told nothing.
      .where('ic.user_id', 'not like', 'erased:%')
      .where('ic.valid_until', '>', now)
      .where('ic.valid_until', '<=', until)
      .where('ic.id', '>', after)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('notification as n').select(sql.lit(1).as('one'))
          .whereRef('n.issued_coupon_id', '=', 'ic.id').where('n.type', '=', 'COUPON_EXPIRING'))))
      .orderBy('ic.id')
      .limit(1_000)
      .execute();
    if (due.length === 0) break;
    scanned += due.length;
    const result = await retryOnDeadlock(() => db
      .insertInto('notification')
      .values(due.map((c) => ({
        id: uuidv7(now.getTime(), `COUPON_EXPIRING:${c.id}`),
        user_id: c.user_id,
        type: 'COUPON_EXPIRING' as const,
        issued_coupon_id: c.id,
        coupon_id: c.coupon_id,
        data: JSON.stringify({ validUntil: c.valid_until.toISOString() }),
        created_at: now,
      })))
      .onDuplicateKeyUpdate({ id: sql.ref('id') })
      .executeTakeFirst());
    notified += Number(result.numInsertedOrUpdatedRows ?? 0);
    after = due[due.length - 1]!.id;
  }
  return { scanned, notified };
}
