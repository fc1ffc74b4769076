/**
 * Which fields of an event are a person's, and whose: what crypto-shredding seals before an event reaches the log
 * (personal-data.ts). A holder's id, the person claim and the claims that qualified them are the holder's; each
 * waiting-room person and an event's actor are their own. Allow-list ids are not sealed: a list of millions would
 * make millions of keys as it is uploaded (see the README's Erasure). Counts, amounts and times are nobody's,
 * and so are order ids: the order system's references, which name no one without the order system's own records
 * (which it erases itself) and which a cancellation after the erasure must still match, so the budget comes back.
 */
type Json = Record<string, unknown>;

/** A sealed value as the log holds it: `pd1.<key id>.<iv, ciphertext and tag, base64url>`. */
export const SEALED = /^pd1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]+)$/;

/** What an erased person's value reads as, the same for every field of theirs, so a rebuild agrees with itself. */
export const placeholderFor = (keyId: string): string => `erased:${keyId}`;

export const isErased = (value: string | null | undefined): boolean => value?.startsWith('erased:') ?? false;

/**
 * Each personal string of `event` (JSON as produced or as read), with the person whose key seals it, replaced by
 * `map`'s answer: what sealing and opening walk, so both touch these fields and no other string.
 */
export function mapPersonalFields(event: Json, seal: (owner: string, value: string) => string): Json {
  if (!event.data || typeof event.data !== 'object') return event;
  const data = { ...(event.data as Json) };
  const holder = typeof data.userId === 'string' ? data.userId : undefined;
  const own = (value: unknown) => (typeof value === 'string' ? seal(value, value) : value);
  const holders = (value: unknown) => (typeof value === 'string' && holder !== undefined ? seal(holder, value) : value);
  if (holder !== undefined) data.userId = seal(holder, holder);
  if ('person' in data) data.person = holders(data.person);
  if (data.claims && typeof data.claims === 'object') {
    data.claims = Object.fromEntries(Object.entries(data.claims as Json).map(([name, v]) => [name, Array.isArray(v) ? v.map(holders) : holders(v)]));
  }
  if (Array.isArray(data.revoked)) data.revoked = (data.revoked as Json[]).map((r) => ({ ...r, userId: own(r.userId) }));
  if (Array.isArray(data.persons)) data.persons = (data.persons as unknown[]).map(own);
  const meta = { ...(event.meta as Json | undefined) };
  if (typeof meta.actor === 'string') meta.actor = own(meta.actor);
  return { ...event, data, ...(event.meta ? { meta } : {}) };
}

/** The key ids the sealed personal fields of `event` name. */
export function keyIdsIn(event: Json, into = new Set<string>()): Set<string> {
  mapPersonalFields(event, (_, value) => {
    const match = SEALED.exec(value);
    if (match) into.add(match[1]!);
    return value;
  });
  return into;
}
