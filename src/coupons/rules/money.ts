import type { Discount } from '../../events/coupon-events.ts';

/**
 * A coupon's money, in integer minor units of its currency (cents, yen…): the discount, the cap per order and the
 * budget the campaign may grant in all. Amounts in the API are decimals in the coupon's currency; every sum and
 * comparison here is on integers, so no float ever decides a grant.
 */
export interface Money {
  currency: string;
  /** Digits after the point in the currency (ISO 4217: 2 for EUR, 0 for JPY, 3 for KWD). */
  exponent: number;
  discount: { type: 'PERCENT'; percent: number } | { type: 'AMOUNT'; amountMinor: number };
  capMinor?: number;
  budgetMinor?: number;
}

/** The largest order total a use may name, in major units: its minor units times a percent stay exact in a double. */
export const MAX_ORDER_TOTAL = 1_000_000_000;

/** The largest budget, in minor units: the scripts' JSON (cjson) writes 14 significant digits, so sums stay below. */
export const MAX_BUDGET_MINOR = 10_000_000_000_000;

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/**
 * ISO 4217's minor units, fixed here rather than read from the runtime's locale data (CLDR shows HUF, COP or IQD
 * with other digits than ISO, and may change with a Node upgrade, which would rescale every grant on a replay).
 * Every other currency has 2; the X codes of metals and funds have none and take no money.
 */
const DIGITS: Record<string, number> = Object.fromEntries([
  ...['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'].map((c) => [c, 0]),
  ...['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'].map((c) => [c, 3]),
  ...['CLF', 'UYW'].map((c) => [c, 4]),
]);

/** The currency's minor-unit digits (ISO 4217), or undefined for a code that is not a currency of money. */
export function currencyExponent(currency: string): number | undefined {
  if (!/^[A-Z]{3}$/.test(currency) || !CURRENCIES.has(currency)) return undefined;
  if (DIGITS[currency] === undefined && currency.startsWith('X')) return undefined;
  return DIGITS[currency] ?? 2;
}

/**
 * `amount` in minor units, read from its decimal digits (a JSON number's shortest form, what the client wrote), or
 * undefined when it has more digits than the currency has (1.005 EUR, 1.5 JPY): no float product ever rounds it.
 */
export function toMinor(amount: number, exponent: number): number | undefined {
  const digits = /^(\d+)(?:\.(\d+))?$/.exec(String(amount));
  const fraction = digits?.[2] ?? '';
  if (!digits || fraction.length > exponent) return undefined;
  const minor = Number(digits[1] + fraction.padEnd(exponent, '0'));
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** Minor units as the decimal amount they are (19.99 for 1999 cents), by digits, as toMinor reads them. */
export function fromMinor(minor: number, exponent: number): number {
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const amount = Number(exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`);
  return minor < 0 ? -amount : amount;
}

/** The money of a coupon created with `currency` (and budget, cap), or undefined for one without. */
export function moneyOf(definition: { discount: Discount; currency?: string; budget?: { amount: number }; maxDiscountPerOrder?: number }): Money | undefined {
  const { currency } = definition;
  const exponent = currency === undefined ? undefined : currencyExponent(currency);
  if (currency === undefined || exponent === undefined) return undefined;
  const minor = (amount: number) => toMinor(amount, exponent)!;
  return {
    currency, exponent,
    discount: definition.discount.type === 'PERCENT' ? { type: 'PERCENT', percent: definition.discount.value } : { type: 'AMOUNT', amountMinor: minor(definition.discount.value) },
    ...(definition.maxDiscountPerOrder !== undefined ? { capMinor: minor(definition.maxDiscountPerOrder) } : {}),
    ...(definition.budget ? { budgetMinor: minor(definition.budget.amount) } : {}),
  };
}

/**
 * The discount an order of `totalMinor` is granted: a fixed amount, never more than the order; a percentage of
 * the order rounded down to the minor unit, never more than the cap per order. Never negative. The budget is
 * the caller's to check: a grant that would pass it is refused whole, not cut.
 */
export function discountFor(money: Money, totalMinor: number): number {
  if (money.discount.type === 'AMOUNT') return Math.min(money.discount.amountMinor, totalMinor);
  const percentOf = Math.floor((totalMinor * money.discount.percent) / 100);
  return money.capMinor === undefined ? percentOf : Math.min(percentOf, money.capMinor);
}

/** The coupon hash's `mny` field: what use.lua computes a discount from (see `discountFor`). */
export function moneyField(money: Money): string {
  const d = money.discount;
  return JSON.stringify({
    c: money.currency, t: d.type === 'PERCENT' ? 'P' : 'A', v: d.type === 'PERCENT' ? d.percent : d.amountMinor,
    ...(money.capMinor !== undefined ? { cap: money.capMinor } : {}), ...(money.budgetMinor !== undefined ? { bud: money.budgetMinor } : {}),
  });
}

export type GrantRefusal = 'ORDER_TOTAL_REQUIRED' | 'CURRENCY_MISMATCH' | 'BUDGET_EXHAUSTED';

/**
 * What a use of a coupon with a currency grants: the order must name its total in that currency, and a discount that
 * would take the budget past its amount is refused whole (409), atomically with the use in the script.
 */
export function grantFor(money: Money, spentMinor: number, order: { totalMinor: number; currency: string } | undefined): { discountMinor: number } | { refusal: GrantRefusal } {
  if (!order) return { refusal: 'ORDER_TOTAL_REQUIRED' };
  if (order.currency !== money.currency) return { refusal: 'CURRENCY_MISMATCH' };
  const discountMinor = discountFor(money, order.totalMinor);
  if (money.budgetMinor !== undefined && spentMinor + discountMinor > money.budgetMinor) return { refusal: 'BUDGET_EXHAUSTED' };
  return { discountMinor };
}
