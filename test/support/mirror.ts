import type { Redis } from 'ioredis';
import { AdmissionStore, type AdmissionSettings } from '../../src/coupons/admission/admission-store.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { closeRuntime } from '../../src/runtime/runtime.ts';
import { openTestRuntime } from './test-runtime.ts';
import type { CouponEvent } from '../../src/events/coupon-events.ts';
import { outboxEntryToEvent } from '../../src/outbox/outbox.ts';

/** The shared pieces of the specs that hold the Lua scripts to the rules' TypeScript mirror. */

/** A tiny seeded generator, so a failure can be replayed from its seed. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** JSON with keys sorted: a deep comparison that a claim named `constructor` does not confuse. */
export const canonical = (value: unknown): string => JSON.stringify(value, (_, v: unknown) =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v, 2);

/** What the Lua side appended to the coupon's outbox while `call` ran, read back as the relay reads it. */
export async function appended<R>(redis: Redis, shards: number, couponId: string, call: () => Promise<R>): Promise<[R, CouponEvent[]]> {
  const { outbox } = couponKeys(couponId, shards);
  const last = (await redis.xrevrange(outbox, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
  const result = await call();
  const entries = await redis.xrange(outbox, `(${last}`, '+');
  return [result, entries.map(([, fields]) => outboxEntryToEvent(fields)).filter((e) => e.couponId === couponId)];
}

/** The admission scripts on this file's Redis, with what reading their outbox needs; closed with its runtime. */
export async function scriptsUnderTest(settings: Partial<AdmissionSettings> = {}): Promise<{ store: AdmissionStore; redis: Redis; shards: number; close(): Promise<void> }> {
  const runtime = await openTestRuntime();
  return {
    store: new AdmissionStore(runtime.redis, { ...runtime.config.admission, ...settings }), redis: runtime.redis, shards: runtime.config.admission.shards,
    close: () => closeRuntime(runtime),
  };
}
