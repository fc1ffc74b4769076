import type { CouponEvent } from '../../events/coupon-events.ts';
import { evolve, type AdmissionCoupon } from '../rules/coupon-rules.ts';
import { StockLedger } from '../rules/stock-ledger.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';

/** One coupon's admission state with what Redis keeps beside it, as a restore rebuilds it. */
export interface RebuiltCoupon {
  state: AdmissionCoupon;
  definition: string;
  validFrom: string;
  validUntil: string;
  createdAt: number;
  closedAt?: number;
  /** A coupon split into stock buckets: what each bucket holds beyond the rules' state. */
  stock?: RebuiltBuckets;
}

export interface RebuiltBuckets {
  /** Each bucket's unissued sequences, and stock in flight between two. */
  ledger: StockLedger;
  /** Each bucket's nth issue and nth use, as its counters stood. */
  issued: Map<number, number>;
  used: Map<number, number>;
  /** The buckets bucket 0 opened. */
  opened: Set<number>;
}

const raise = (counts: Map<number, number>, bucket: number, n: number) => counts.set(bucket, Math.max(counts.get(bucket) ?? 0, n));

/** What a stock bucket's event changes beyond the rules' state; a copy changes nothing (the ledger refuses it again). */
function foldStock(stock: RebuiltBuckets, event: CouponEvent): void {
  switch (event.type) {
    case 'CouponIssued':
      if (event.data.bucket === undefined) return;
      stock.ledger.issued(event.data.bucket, parseIssuedCouponId(event.data.issuedCouponId)?.sequence ?? 0);
      raise(stock.issued, event.data.bucket, event.data.bucketIssued ?? 0);
      return;
    case 'CouponUsed':
      if (event.data.bucket !== undefined) raise(stock.used, event.data.bucket, event.data.useSequence);
      return;
    case 'CouponStockMoved':
      stock.ledger.moved(event.data);
      if (event.data.opens) stock.opened.add(event.data.toBucket);
      return;
    case 'CouponStockReceived':
      stock.ledger.arrived(event.data);
      return;
    case 'CouponStockAdded':
      stock.ledger.added(event.data.totalQuantity);
      return;
  }
}

/** Folds one event into the coupons being rebuilt; a copy of an event already folded changes nothing. */
export function foldInto(rebuilt: Map<string, RebuiltCoupon>, event: CouponEvent): void {
  const current = rebuilt.get(event.couponId);
  const state = evolve(current?.state, event);
  if (!state) return;
  if (current?.stock) foldStock(current.stock, event);
  if (event.type === 'CouponCreated' && !current) {
    rebuilt.set(event.couponId, {
      state, definition: JSON.stringify(event.data), validFrom: event.data.validFrom, validUntil: event.data.validUntil,
      createdAt: Date.parse(event.occurredAt),
      ...((event.data.buckets ?? 1) > 1 ? { stock: { ledger: new StockLedger(event.data.totalQuantity), issued: new Map(), used: new Map(), opened: new Set<number>() } } : {}),
    });
  } else if (current && event.type === 'CouponIssuanceClosed') {
    current.closedAt ??= Date.parse(event.occurredAt);
  } else if (current && event.type === 'CouponStockAdded') {
    // Redis keeps the definition as the reads show it: with the total and window as they now are.
    current.definition = JSON.stringify({ ...(JSON.parse(current.definition) as object), totalQuantity: state.totalQuantity });
  } else if (current && event.type === 'CouponIssueWindowChanged') {
    // The window the rules took, which a late copy of an older change does not move.
    const window = { issueStartAt: new Date(state.issueStartAt).toISOString(), issueEndAt: new Date(state.issueEndAt).toISOString() };
    current.definition = JSON.stringify({ ...(JSON.parse(current.definition) as object), ...window });
  }
}
