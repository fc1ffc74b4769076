import { parseCouponEvent, type CouponEvent } from '../events/coupon-events.ts';

/** A Redis stream entry's flat [field, value, …] list, as the admission scripts wrote it (see prelude.lua). */
export function outboxEntryToEvent(fields: string[]): CouponEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const parseJson = (text: string | undefined) => {
    try {
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    } catch {
      return text;
    }
  };
  return parseCouponEvent({
    eventId: f.e,
    type: f.t,
    version: f.v ? Number(f.v) : 1,
    couponId: f.c,
    occurredAt: f.at && /^\d+$/.test(f.at) ? new Date(Number(f.at)).toISOString() : f.at,
    data: parseJson(f.d),
    meta: parseJson(f.m),
  });
}
