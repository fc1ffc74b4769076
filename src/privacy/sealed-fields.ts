/**
 * Which fields of an event are a person's, and whose: what crypto-shredding seals before an event reaches the log
 * (personal-data.ts). A holder's id, their orders, the person claim and the claims that qualified them are the
 * holder's; each allow-list id, each waiting-room person and an event's actor are their own. Counts, amounts and
 * times are nobody's and stay readable, so erasing a person leaves every invariant checkable.
 */
type Json = Record<string, unknown>;

/** A sealed value as the log holds it: `pd1.<key id>.<iv, ciphertext and tag, base64url>`. */
export const SEALED = /^pd1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]+)$/;

/** What an erased person's value reads as, the same for every field of theirs, so a rebuild agrees with itself. */
export const placeholderFor = (keyId: string): string => `erased:${keyId}`;

export const isErased = (value: string | null | undefined): boolean => value?.startsWith('erased:') ?? false;

/** Each personal string of `event` (JSON as produced), with the person whose key seals it, replaced by `seal`'s answer. */
export function sealFields(event: Json, seal: (owner: string, value: string) => string): Json {
  if (!event.data || typeof event.data !== 'object') return event;
  const data = { ...(event.data as Json) };
  const holder = typeof data.userId === 'string' ? data.userId : undefined;
  const own = (value: unknown) => (typeof value === 'string' ? seal(value, value) : value);
  const holders = (value: unknown) => (typeof value === 'string' && holder !== undefined ? seal(holder, value) : value);
  if (holder !== undefined) data.userId = seal(holder, holder);
  for (const field of ['orderId', 'person']) if (field in data) data[field] = holders(data[field]);
  if (data.claims && typeof data.claims === 'object') {
    data.claims = Object.fromEntries(Object.entries(data.claims as Json).map(([name, v]) => [name, Array.isArray(v) ? v.map(holders) : holders(v)]));
  }
  if (Array.isArray(data.revoked)) data.revoked = (data.revoked as Json[]).map((r) => ({ ...r, userId: own(r.userId) }));
  for (const field of ['userIds', 'persons']) if (Array.isArray(data[field])) data[field] = (data[field] as unknown[]).map(own);
  const meta = { ...(event.meta as Json | undefined) };
  if (typeof meta.actor === 'string') meta.actor = own(meta.actor);
  return { ...event, data, ...(event.meta ? { meta } : {}) };
}

/** Every sealed string anywhere in `value`, replaced by `open`'s answer. */
export function openFields(value: unknown, open: (sealed: string) => string): unknown {
  if (typeof value === 'string') return SEALED.test(value) ? open(value) : value;
  if (Array.isArray(value)) return value.map((v) => openFields(v, open));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openFields(v, open)]));
  return value;
}

/** The key ids a value's sealed strings name. */
export function keyIdsIn(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const match = SEALED.exec(value);
    if (match) into.add(match[1]!);
  } else if (Array.isArray(value)) for (const v of value) keyIdsIn(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) keyIdsIn(v, into);
  return into;
}
