import * as assert from 'uvu/assert';
import { holds, STATUS_CONDITIONS, type ListedStatus } from '../../projections/coupon/catalog-query.ts';
import { couponStatus } from '../../src/coupons/rules/coupon-rules.ts';
import { spec } from '../support/spec.ts';

const catalog = spec('the catalog lists a coupon by the same status the rules give it');
const now = new Date('2026-12-04T12:00:00.000Z');
const at = (hours: number) => new Date(now.getTime() + hours * 3_600_000);

catalog('in every state, a row meets a status\'s SQL conditions exactly when couponStatus gives it that status', () => {
  // Every combination the rules tell apart: closed or not, the window before, around, after or just at now, stock left or none.
  const windows = [[1, 2], [-1, 1], [-2, -1], [0, 1], [-1, 0]] as const;
  let seen = 0;
  for (const status of ['ACTIVE', 'CLOSED'] as const) {
    for (const [start, end] of windows) {
      for (const issued of [0, 2, 3]) {
        const row = { status, issue_start_at: at(start), issue_end_at: at(end), issued_count: issued, total_quantity: 3 };
        const expected = couponStatus({
          closed: status === 'CLOSED', issuedCount: issued,
          definition: { totalQuantity: 3, issueStartAt: at(start).toISOString(), issueEndAt: at(end).toISOString() },
        }, now.getTime());
        for (const listed of Object.keys(STATUS_CONDITIONS) as ListedStatus[]) {
          assert.is(holds([listed], row, now), expected === listed, `${JSON.stringify(row)} is ${expected}: conditions of ${listed}`);
        }
        seen++;
      }
    }
  }
  assert.is(seen, 30);
});

catalog.run();
