import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { currencyExponent, discountFor, fromMinor, grantFor, toMinor, type Money } from '../../src/coupons/rules/coupon-rules.ts';
import { HistoryAuditor } from '../../src/audit/history-auditor.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { fixtures as f } from '../support/event-fixtures.ts';
import { spec } from '../support/spec.ts';

/** A coupon's money as create allows it: a whole percent (capped or not) or a fixed amount, a budget or none. */
const money: fc.Arbitrary<Money> = fc.record({
  exponent: fc.constantFrom(0, 2, 3),
  discount: fc.oneof(
    fc.record({ type: fc.constant('PERCENT' as const), percent: fc.integer({ min: 1, max: 100 }) }),
    fc.record({ type: fc.constant('AMOUNT' as const), amountMinor: fc.integer({ min: 1, max: 100_000_000_000 }) }),
  ),
  capMinor: fc.option(fc.integer({ min: 1, max: 100_000_000_000 }), { nil: undefined }),
  budgetMinor: fc.option(fc.integer({ min: 1, max: 100_000_000_000_000 }), { nil: undefined }),
}).map((m) => ({ currency: 'EUR', ...m, ...(m.discount.type === 'AMOUNT' ? { capMinor: undefined } : {}) }));

const total = fc.integer({ min: 0, max: 100_000_000_000 });

const grants = spec('money in integer minor units');
grants('a discount is a whole number of minor units, never negative, never more than the order nor the cap', () => {
  fc.assert(fc.property(money, total, (m, totalMinor) => {
    const d = discountFor(m, totalMinor);
    assert.ok(Number.isSafeInteger(d) && d >= 0 && d <= totalMinor, `${d} of ${totalMinor}`);
    if (m.capMinor !== undefined) assert.ok(d <= m.capMinor, `${d} over the cap ${m.capMinor}`);
  }), { numRuns: 5_000 });
});
grants('a grant never takes the budget past its amount: a discount larger than what is left is refused whole', () => {
  fc.assert(fc.property(money, total, fc.nat(), (m, totalMinor, spentSeed) => {
    const spentMinor = m.budgetMinor === undefined ? spentSeed : spentSeed % (m.budgetMinor + 1);
    const g = grantFor(m, spentMinor, { totalMinor, currency: 'EUR' });
    const wanted = discountFor(m, totalMinor);
    if ('refusal' in g) {
      assert.is(g.refusal, 'BUDGET_EXHAUSTED');
      assert.ok(m.budgetMinor !== undefined && spentMinor + wanted > m.budgetMinor);
    } else {
      assert.is(g.discountMinor, wanted);
      if (m.budgetMinor !== undefined) assert.ok(spentMinor + g.discountMinor <= m.budgetMinor);
    }
  }), { numRuns: 5_000 });
});
grants('an order in another currency, or without a total, is refused before anything is computed', () => {
  const m: Money = { currency: 'EUR', exponent: 2, discount: { type: 'PERCENT', percent: 10 } };
  assert.equal(grantFor(m, 0, { totalMinor: 1_000, currency: 'USD' }), { refusal: 'CURRENCY_MISMATCH' });
  assert.equal(grantFor(m, 0, undefined), { refusal: 'ORDER_TOTAL_REQUIRED' });
});
grants('a percentage rounds down to the minor unit: 15% of 0.99 EUR is 0.14, of 999 JPY is 149', () => {
  assert.is(discountFor({ currency: 'EUR', exponent: 2, discount: { type: 'PERCENT', percent: 15 } }, 99), 14);
  assert.is(discountFor({ currency: 'JPY', exponent: 0, discount: { type: 'PERCENT', percent: 15 } }, 999), 149);
});
grants('amounts convert by their digits, exactly, or not at all: no cent in yen, no tenth of a cent in euros, no float noise', () => {
  assert.equal([currencyExponent('EUR'), currencyExponent('JPY'), currencyExponent('KWD'), currencyExponent('XYZ'), currencyExponent('eur')], [2, 0, 3, undefined, undefined]);
  // ISO 4217, not the runtime's locale data: 1234.56 HUF is a valid total; gold is not money.
  assert.equal([currencyExponent('HUF'), currencyExponent('IQD'), currencyExponent('COP'), currencyExponent('XAU'), currencyExponent('XOF')], [2, 3, 2, undefined, 0]);
  assert.equal([toMinor(19.99, 2), toMinor(135_252_980.58, 2), toMinor(0.1 + 0.2, 2), toMinor(1.005, 2), toMinor(1.5, 0), toMinor(1.234, 3), toMinor(7, 2)], [1_999, 13_525_298_058, undefined, undefined, undefined, 1_234, 700]);
  fc.assert(fc.property(fc.constantFrom(0, 2, 3), fc.integer({ min: 0, max: 100_000_000_000 }), (exponent, minor) => toMinor(fromMinor(minor, exponent), exponent) === minor), { numRuns: 5_000 });
});
grants.run();

const audit = spec('the auditor on money');
/** A coupon of 7.00 EUR off with a 10.00 EUR budget, two holders, and their uses granting `grants` (minor units) on orders of 30.00. */
function judged(grants: number[]): string[] {
  const created = f.created();
  const auditor = new HistoryAuditor();
  auditor.add({ ...created, data: { ...created.data, discount: { type: 'AMOUNT', value: 7 }, currency: 'EUR', budget: { amount: 10 } } } as CouponEvent);
  auditor.add(f.issued(1, 'a'));
  auditor.add(f.issued(2, 'b'));
  let spent = 0;
  grants.forEach((discountMinor, i) => {
    spent += discountMinor;
    const used = f.used(i + 1, i === 0 ? 'a' : 'b', i + 1) as Extract<CouponEvent, { type: 'CouponUsed' }>;
    auditor.add({ ...used, data: { ...used.data, discountMinor, orderTotalMinor: 3_000, currency: 'EUR', budgetSpentMinor: spent, budgetRevision: i + 1 } });
  });
  return auditor.violations;
}
audit('given grants the rules allow, then no violation; a grant other than the rules\' or past the budget is one', () => {
  assert.equal(judged([700]), []);
  assert.match(judged([600]).join('\n'), /granted 600, the rules 700/);
  assert.match(judged([700, 700]).join('\n'), /BUDGET_EXHAUSTED/);
});
audit.run();
