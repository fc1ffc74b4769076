import { createHmac, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { chunks } from '../batching/chunks.ts';

const TTL_MS = 30_000;
const CACHED = 200_000;

/** A person's key: its id (random, what the log names) and its secret; null once the person was erased. */
export interface PersonKey {
  keyId: string;
  secret: Buffer | null;
}

/**
 * One AES-256 key per person, in MySQL's `person_key`: a random key id (so the log's key ids link to nobody), the
 * person's keyed hash (so the table names nobody either; the pepper is made once and kept in the table beside),
 * and the secret. Erasing a person clears their secret and keeps the row as a tombstone: whatever of theirs is
 * sealed later goes under a secret nobody keeps, so it reads as the same placeholder. Cached for 30 s, so another
 * process stops reading an erased person within that; this process at once.
 */
export class PersonKeys {
  private readonly db: Db;
  private pepper?: Promise<Buffer>;
  private readonly byPerson = new Map<string, PersonKey & { at: number }>();
  private readonly byId = new Map<string, { secret: Buffer | null; at: number }>();

  constructor(db: Db) {
    this.db = db;
  }

  /** The keys of these persons, made for those who have none. */
  async forPersons(persons: Iterable<string>): Promise<Map<string, PersonKey>> {
    const now = Date.now();
    const found = new Map<string, PersonKey>();
    const hashes = new Map<string, string>();
    for (const person of new Set(persons)) {
      const hash = await this.hashOf(person);
      const cached = this.byPerson.get(hash);
      if (cached && now - cached.at < TTL_MS) found.set(person, cached);
      else hashes.set(hash, person);
    }
    if (hashes.size === 0) return found;
    const wanted = [...hashes.keys()].sort();
    const rows: { key_id: string; person_hash: string; secret: Buffer | null }[] = [];
    for (const part of chunks(wanted)) {
      // Sorted, so relays making keys at once take the rows' locks in one order; the first insert of a person wins.
      await this.db.insertInto('person_key').ignore()
        .values(part.map((person_hash) => ({ key_id: randomBytes(16).toString('base64url').slice(0, 22), person_hash, secret: randomBytes(32), created_at: new Date() })))
        .execute();
      rows.push(...(await this.db.selectFrom('person_key').select(['key_id', 'person_hash', 'secret']).where('person_hash', 'in', part).execute()));
    }
    for (const row of rows) {
      const key = { keyId: row.key_id, secret: row.secret ? Buffer.from(row.secret) : null };
      this.remember(this.byPerson, row.person_hash, { ...key, at: now });
      found.set(hashes.get(row.person_hash)!, key);
    }
    return found;
  }

  /** The secrets of these key ids: null when erased (or never made here). */
  async byIds(keyIds: Iterable<string>): Promise<Map<string, Buffer | null>> {
    const now = Date.now();
    const found = new Map<string, Buffer | null>();
    const wanted: string[] = [];
    for (const id of new Set(keyIds)) {
      const cached = this.byId.get(id);
      if (cached && now - cached.at < TTL_MS) found.set(id, cached.secret);
      else wanted.push(id);
    }
    if (wanted.length === 0) return found;
    const rows = (await Promise.all(chunks(wanted).map((part) => this.db.selectFrom('person_key').select(['key_id', 'secret']).where('key_id', 'in', part).execute()))).flat();
    const secrets = new Map(rows.map((r) => [r.key_id, r.secret ? Buffer.from(r.secret) : null]));
    for (const id of wanted) {
      const secret = secrets.get(id) ?? null;
      this.remember(this.byId, id, { secret, at: now });
      found.set(id, secret);
    }
    return found;
  }

  /** Clears the person's secret (a tombstone stays, made now if they had no key): answers their key id. */
  async erase(person: string): Promise<string> {
    const [{ keyId }] = [...(await this.forPersons([person])).values()] as [PersonKey];
    await this.db.updateTable('person_key').set({ secret: null, erased_at: new Date() }).where('key_id', '=', keyId).execute();
    this.byPerson.delete(await this.hashOf(person));
    this.byId.delete(keyId);
    return keyId;
  }

  private async hashOf(person: string): Promise<string> {
    this.pepper ??= this.loadPepper();
    return createHmac('sha256', await this.pepper).update(person).digest('base64url');
  }

  /** The pepper, made once for the deployment and kept in MySQL: a secret rotated elsewhere never orphans a key. */
  private async loadPepper(): Promise<Buffer> {
    await sql`INSERT IGNORE INTO person_key_pepper (id, pepper) VALUES (1, ${randomBytes(32)})`.execute(this.db);
    const row = await this.db.selectFrom('person_key_pepper').select('pepper').where('id', '=', 1).executeTakeFirstOrThrow();
    return Buffer.from(row.pepper);
  }

  private remember<V>(cache: Map<string, V>, key: string, value: V): void {
    if (cache.size >= CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, value);
  }
}
