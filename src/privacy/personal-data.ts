import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { PersonKeys } from './person-keys.ts';
import { keyIdsIn, openFields, placeholderFor, sealFields, SEALED } from './sealed-fields.ts';

/** How the event log's messages are written and read: sealed and opened, or (for tooling without a key store) as they are. */
export interface MessageCodec {
  seal(values: string[]): Promise<string[]>;
  open<T extends string | null>(values: T[]): Promise<T[]>;
}

export const PLAIN: MessageCodec = { seal: async (values) => values, open: async (values) => values };

/**
 * What names each person's key: PERSONAL_DATA_PEPPER, else a key derived from JWT_SECRET, else (a deployment that
 * verifies tokens by JWKS alone and sets no pepper) a fixed one, which names keys as a plain hash would.
 */
export function pepperOf(config: { personalDataPepper?: string; jwt: { secret?: string } }): string {
  if (config.personalDataPepper) return config.personalDataPepper;
  if (config.jwt.secret) return createHmac('sha256', config.jwt.secret).update('personal-data-pepper').digest('base64url');
  return 'coupon-platform/personal-data/unpeppered';
}

/**
 * Crypto-shredding at the log's edge: every event is sealed as the relay produces it (its personal fields encrypted
 * with AES-256-GCM under their person's key, sealed-fields.ts) and opened wherever it is read, with the keys that
 * still exist. A field whose key was erased reads as the person's placeholder; nothing else about the event changes.
 */
export class PersonalData implements MessageCodec {
  private readonly keys: PersonKeys;

  constructor(keys: PersonKeys) {
    this.keys = keys;
  }

  async seal(values: string[]): Promise<string[]> {
    const events = values.map(asObject);
    const owners = new Map<string, string>();
    for (const event of events) if (event) sealFields(event, (owner) => (owners.set(owner, this.keys.keyIdOf(owner)), ''));
    if (owners.size === 0) return values;
    const keys = await this.keys.keys(owners.values(), true);
    return events.map((event, i) => (!event ? values[i]! : JSON.stringify(sealFields(event, (owner, value) => {
      const keyId = owners.get(owner)!;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys.get(keyId)!, iv);
      const body = Buffer.concat([iv, cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `pd1.${keyId}.${body.toString('base64url')}`;
    }))));
  }

  async open<T extends string | null>(values: T[]): Promise<T[]> {
    const parsed = values.map((v) => (v !== null && v.includes('"pd1.') ? (JSON.parse(v) as unknown) : undefined));
    const ids = new Set<string>();
    for (const p of parsed) if (p !== undefined) keyIdsIn(p, ids);
    if (ids.size === 0) return values;
    const keys = await this.keys.keys(ids, false);
    return values.map((v, i) => (parsed[i] === undefined ? v : JSON.stringify(openFields(parsed[i], (sealed) => openOne(sealed, keys))) as T));
  }

  erase(person: string): Promise<string> {
    return this.keys.erase(person);
  }

  placeholderOf(person: string): string {
    return placeholderFor(this.keys.keyIdOf(person));
  }
}

/** A message value that is a JSON object (an event), or undefined for anything else, which is written as it is. */
function asObject(value: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A sealed value read with its key; erased (no key, or a newer key than the one it was sealed with), the placeholder. */
function openOne(sealed: string, keys: Map<string, Buffer | null>): string {
  const [, keyId, body] = SEALED.exec(sealed)!;
  const key = keys.get(keyId!);
  if (!key) return placeholderFor(keyId!);
  try {
    const bytes = Buffer.from(body!, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return placeholderFor(keyId!);
  }
}
