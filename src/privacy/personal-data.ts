import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { PersonKeys } from './person-keys.ts';
import { keyIdsIn, mapPersonalFields, placeholderFor, SEALED } from './sealed-fields.ts';

/** How the event log's messages are written and read: sealed and opened, or (for tooling without a key store) as they are. */
export interface MessageCodec {
  seal(values: string[]): Promise<string[]>;
  open<T extends string | null>(values: T[]): Promise<T[]>;
}

export const PLAIN: MessageCodec = { seal: async (values) => values, open: async (values) => values };

type Json = Record<string, unknown>;

/**
 * Crypto-shredding at the log's edge: every event is sealed as it is produced (its personal fields encrypted with
 * AES-256-GCM under their person's key, sealed-fields.ts) and opened wherever it is read, with the keys that still
 * exist. A field whose key was erased reads as the person's placeholder; nothing else about the event changes.
 */
export class PersonalData implements MessageCodec {
  private readonly keys: PersonKeys;

  constructor(keys: PersonKeys) {
    this.keys = keys;
  }

  async seal(values: string[]): Promise<string[]> {
    const events = values.map(asObject);
    const owners = new Set<string>();
    for (const event of events) if (event) mapPersonalFields(event, (owner, value) => (owners.add(owner), value));
    if (owners.size === 0) return values;
    const keys = await this.keys.forPersons(owners);
    return events.map((event, i) => (!event ? values[i]! : JSON.stringify(mapPersonalFields(event, (owner, value) => {
      const { keyId, secret } = keys.get(owner)!;
      // An erased person's later events go under a secret nobody keeps: they read as the same placeholder.
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', secret ?? randomBytes(32), iv, { authTagLength: 16 });
      const body = Buffer.concat([iv, cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `pd1.${keyId}.${body.toString('base64url')}`;
    }))));
  }

  async open<T extends string | null>(values: T[]): Promise<T[]> {
    const parsed = values.map((v) => (v !== null && v.includes('"pd1.') ? asObject(v) : undefined));
    const ids = new Set<string>();
    for (const p of parsed) if (p) keyIdsIn(p, ids);
    if (ids.size === 0) return values;
    const keys = await this.keys.byIds(ids);
    return values.map((v, i) => (!parsed[i] ? v : JSON.stringify(mapPersonalFields(parsed[i], (_, value) => (SEALED.test(value) ? openOne(value, keys) : value))) as T));
  }

  /** Erases the person's key: answers the placeholder their fields read as from now on. */
  async erase(person: string): Promise<string> {
    return placeholderFor(await this.keys.erase(person));
  }
}

/** A message value that is a JSON object (an event), or undefined for anything else, which is written and read as it is. */
function asObject(value: string): Json | undefined {
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A sealed value read with its key; erased (no secret any more), the placeholder; one that does not authenticate
 * under its key (damaged), `unreadable:<key id>`, which no placeholder is taken for.
 */
function openOne(sealed: string, keys: Map<string, Buffer | null>): string {
  const [, keyId, body] = SEALED.exec(sealed)!;
  const key = keys.get(keyId!);
  if (!key) return placeholderFor(keyId!);
  try {
    const bytes = Buffer.from(body!, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12), { authTagLength: 16 });
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return `unreadable:${keyId}`;
  }
}
