import { createHmac, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

const TTL_MS = 30_000;

/**
 * One AES-256 key per person, in MySQL's `person_key`, named by a keyed hash of the person (so the table names
 * nobody). Erasing a person deletes their key: every copy of the log forgets them at once. Keys are cached for
 * 30 s, so another process stops reading an erased person within that; this process at once.
 */
export class PersonKeys {
  private readonly db: Db;
  private readonly pepper: Buffer;
  private readonly cache = new Map<string, { key: Buffer | null; at: number }>();

  constructor(db: Db, pepper: string) {
    this.db = db;
    this.pepper = Buffer.from(pepper);
  }

  keyIdOf(person: string): string {
    return createHmac('sha256', this.pepper).update(person).digest('base64url').slice(0, 22);
  }

  /** The keys of `keyIds` (null: erased, or never made); with `create`, one is made for each that has none. */
  async keys(keyIds: Iterable<string>, create: boolean): Promise<Map<string, Buffer | null>> {
    const now = Date.now();
    const found = new Map<string, Buffer | null>();
    const wanted: string[] = [];
    for (const id of new Set(keyIds)) {
      const cached = this.cache.get(id);
      if (cached && now - cached.at < TTL_MS && (cached.key || !create)) found.set(id, cached.key);
      else wanted.push(id);
    }
    if (wanted.length === 0) return found;
    if (create) {
      // Two processes making one person's key at once: the first insert wins and both read it back.
      await this.db.insertInto('person_key').values(wanted.map((key_id) => ({ key_id, secret: randomBytes(32), created_at: new Date() })))
        .onDuplicateKeyUpdate({ key_id: sql.ref('key_id') }).execute();
    }
    const rows = await this.db.selectFrom('person_key').select(['key_id', 'secret']).where('key_id', 'in', wanted).execute();
    const byId = new Map(rows.map((r) => [r.key_id, Buffer.from(r.secret)]));
    for (const id of wanted) {
      const key = byId.get(id) ?? null;
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(id, { key, at: now });
      found.set(id, key);
    }
    return found;
  }

  /** Deletes the person's key; what was sealed with it can no longer be read. */
  async erase(person: string): Promise<string> {
    const keyId = this.keyIdOf(person);
    await this.db.deleteFrom('person_key').where('key_id', '=', keyId).execute();
    this.cache.delete(keyId);
    return keyId;
  }
}
