interface Entry<V> {
  value: V;
  bytes: number;
}

/**
 * A map bounded in bytes, not entries: each entry is charged what `sizeOf` says it costs (its strings and the
 * objects around them, about). Entries go into the newer of two generations, each allowed half the budget;
 * when the newer is full it becomes the older and the older is dropped whole, so the oldest half leaves at once
 * and no call costs more than a Map's (evicting one entry at a time from a Map's front scans the holes earlier
 * deletions left: measured at a third of the API's CPU under a storm of new tokens). An entry larger than half
 * the budget is not kept.
 */
export class BoundedCache<K, V> {
  private newer = new Map<K, Entry<V>>();
  private older = new Map<K, Entry<V>>();
  private newerBytes = 0;
  private olderBytes = 0;

  private readonly halfBytes: number;
  private readonly sizeOf: (key: K, value: V) => number;

  constructor(budgetBytes: number, sizeOf: (key: K, value: V) => number) {
    this.halfBytes = budgetBytes / 2;
    this.sizeOf = sizeOf;
  }

  get(key: K): V | undefined {
    return (this.newer.get(key) ?? this.older.get(key))?.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const bytes = this.sizeOf(key, value);
    // A size that is no size would break the accounting, and with it the bound: such an entry is not kept.
    if (!(bytes > 0 && bytes <= this.halfBytes)) return;
    if (this.newerBytes + bytes > this.halfBytes) {
      this.older = this.newer;
      this.olderBytes = this.newerBytes;
      this.newer = new Map();
      this.newerBytes = 0;
    }
    this.newer.set(key, { value, bytes });
    this.newerBytes += bytes;
  }

  delete(key: K): void {
    const newer = this.newer.get(key);
    if (newer) {
      this.newer.delete(key);
      this.newerBytes -= newer.bytes;
    }
    const older = this.older.get(key);
    if (older) {
      this.older.delete(key);
      this.olderBytes -= older.bytes;
    }
  }

  /** What the entries kept are charged, in bytes. */
  get bytes(): number {
    return this.newerBytes + this.olderBytes;
  }

  get size(): number {
    return this.newer.size + this.older.size;
  }
}

/** What a string costs V8 on the heap, about: a header and a byte a character (what tokens and ids are; others take two). */
export const stringBytes = (text: string): number => 16 + text.length;
