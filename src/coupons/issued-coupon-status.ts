/** What a holder's coupon is now: USED once used; an unused one is EXPIRED from the end of its validity on. */
export function issuedCouponStatus(row: { status: string; validUntil: Date }, now: Date): 'ISSUED' | 'USED' | 'EXPIRED' {
  if (row.status === 'USED') return 'USED';
  return row.validUntil <= now ? 'EXPIRED' : 'ISSUED';
}
