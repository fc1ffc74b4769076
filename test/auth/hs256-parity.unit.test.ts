import { createHmac } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import * as assert from 'uvu/assert';
import { hs256Key, RejectedToken, verifyHs256 } from '../../src/auth/hs256.ts';
import { spec } from '../support/spec.ts';

/**
 * The fast HS256 verifier held to jose's verdict on thousands of tokens: every single mutation of a valid
 * token (each claim and header field set to each value of a pool of types and edge values, or removed; each
 * encoding and signature fault), then random combinations of two to four, from a fixed seed. Each token is
 * judged with and without a configured audience, at one fixed second, as the project calls jose.
 */

const SEED = 22;
const COMBINED = 4_000;
const secret = 'a-secret-that-is-at-least-32-characters';
const key = new TextEncoder().encode(secret);
const fastKey = hs256Key(secret);
const issuer = 'coupon-platform';
const audience = 'coupon-api';
const now = 1_900_000_000;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Members as raw JSON text, so values JSON.stringify cannot write (1e400, -0, a repeated name) can be sent. */
type Members = Map<string, string>;
interface Draft {
  header: Members;
  payload: Members;
  /** Bytes that replace a JSON text wholesale (not an object, not JSON, not UTF-8, a BOM). */
  headerBytes?: Buffer;
  payloadBytes?: Buffer;
  /** Applied to the encoded parts before signing: the signature covers them, so only decoding can refuse. */
  encoded: ((parts: [string, string]) => [string, string])[];
  /** Applied to the signed token. */
  signed: ((token: string) => string)[];
  signingKey: Uint8Array;
}

const q = JSON.stringify;
const TIMES = [now + 600, now - 600, now, now + 1, now - 1, 0, -1, 2 ** 53 + 2].map(String)
  .concat([`${now}.5`, `${now - 1}.5`, '-0', '1e400', '-1e400', '1.7976931348623157e308', `${now + 600}.0`, `${now + 6}e2`]);
const OTHERS = ['"x"', '""', q(String(now + 600)), '"NaN"', '"Infinity"', 'null', 'true', 'false', '[]', `[${now + 600}]`, '{}', `{"$date":${now + 600}}`, q('y'.repeat(3000))];
const CLAIM_VALUES: Record<string, string[]> = {
  exp: [...TIMES, ...OTHERS],
  nbf: [...TIMES, ...OTHERS],
  iat: [...TIMES, ...OTHERS],
  iss: [q(issuer), q(`${issuer} `), q(issuer.toUpperCase()), q([issuer]), ...TIMES.slice(0, 2), ...OTHERS],
  aud: [q(audience), q([audience]), q(['other', audience]), q([audience, 1]), q([1, audience]), '["other"]', '"other"', q(`${audience}\u0000`), ...TIMES.slice(0, 2), ...OTHERS],
  sub: ['"u1"', ...TIMES.slice(0, 2), ...OTHERS],
  role: ['"admin"', '"service"', ...OTHERS],
  ['__proto__']: [`{"exp":${now + 600}}`, 'null'],
};
const HEADER_VALUES: Record<string, string[]> = {
  alg: ['"HS256"', '"HS512"', '"none"', '"hs256"', '"RS256"', '""', 'null', '1', '["HS256"]', '"HS256 "'],
  typ: ['"JWT"', '"at+jwt"', '"application/jwt"', '1', 'null'],
  crit: ['["b64"]', '["b64","b64"]', '[]', '["x"]', '"b64"', '[""]', 'null', '[1]', '["exp"]', '["b64","x"]', '{}'],
  b64: ['true', 'false', '"true"', '1', 'null'],
  kid: ['"k1"', '1', 'null', '""'],
  x: ['1', '{"nested":[1,2]}'],
  jku: ['"https://elsewhere.example/jwks"'],
  ['__proto__']: ['{"alg":"none"}'],
};

const bom = (s: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)]);
const badUtf8 = (s: string, bytes: number[]) => { const at = s.indexOf('"u1"') + 2; return Buffer.concat([Buffer.from(s.slice(0, at)), Buffer.from(bytes), Buffer.from(s.slice(at))]); };
const jsonOf = (m: Members) => `{${[...m].map(([k, v]) => `${q(k)}:${v}`).join(',')}}`;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const replaceAt = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);

/** Faults beyond member values: how the parts are written and signed. Each name is reported with a verdict it changes. */
const FAULTS: Record<string, (d: Draft, r: () => number) => void> = {
  'payload not an object': (d, r) => { d.payloadBytes = Buffer.from(['[]', '"x"', '1', 'null', '[{"exp":1}]'][Math.floor(r() * 5)]!); },
  'header not an object': (d, r) => { d.headerBytes = Buffer.from(['[]', '"HS256"', 'null'][Math.floor(r() * 3)]!); },
  'payload not JSON': (d, r) => { d.payloadBytes = Buffer.from(['{', '{"exp":NaN}', "{'exp':1}", '', `{"exp":${now + 600},}`][Math.floor(r() * 5)]!); },
  'header not JSON': (d) => { d.headerBytes = Buffer.from('{"alg":"HS256"'); },
  'payload with a BOM': (d) => { d.payloadBytes = bom(jsonOf(d.payload)); },
  'header with a BOM': (d) => { d.headerBytes = bom(jsonOf(d.header)); },
  'payload with whitespace': (d) => { d.payloadBytes = Buffer.from(` \n${jsonOf(d.payload)}\t `); },
  'payload with malformed UTF-8': (d, r) => { d.payloadBytes = badUtf8(jsonOf(d.payload), [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf]][Math.floor(r() * 4)]!); },
  'payload with good UTF-8': (d) => { d.payloadBytes = badUtf8(jsonOf(d.payload), [0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]); },
  'header part one character longer': (d) => d.encoded.push(([h, p]) => [`${h}A`, p]),
  'payload part one character longer': (d) => d.encoded.push(([h, p]) => [h, `${p}A`]),
  'payload part two characters longer': (d) => d.encoded.push(([h, p]) => [h, `${p}AA`]),
  'payload part one character shorter': (d) => d.encoded.push(([h, p]) => [h, p.slice(0, -1)]),
  'payload part padded': (d) => d.encoded.push(([h, p]) => [h, p.length % 4 ? p + '='.repeat(4 - (p.length % 4)) : p]),
  'payload part with + or /': (d, r) => d.encoded.push(([h, p]) => [h, replaceAt(p, Math.floor(r() * p.length), r() < 0.5 ? '+' : '/')]),
  'payload part with a space': (d, r) => d.encoded.push(([h, p]) => [h, replaceAt(p, Math.floor(r() * p.length), ' ')]),
  'payload part with a stray character': (d, r) => d.encoded.push(([h, p]) => [h, replaceAt(p, Math.floor(r() * p.length), '!$*~'[Math.floor(r() * 4)]!)]),
  'empty payload part': (d) => d.encoded.push(([h]) => [h, '']),
  // The lowest bit of a last character that does not fill its byte is not data: decoders may ignore it or refuse.
  'last payload character not canonical': (d) => d.encoded.push(([h, p]) => [h, p.length % 4 ? replaceAt(p, p.length - 1, B64[B64.indexOf(p.at(-1)!) ^ 1]!) : p]),
  'a flipped signature bit': (d, r) => d.signed.push((t) => {
    const [h, p, s] = t.split('.') as [string, string, string];
    const bytes = Buffer.from(s, 'base64url');
    if (bytes.length) bytes[Math.floor(r() * bytes.length)]! ^= 1 << Math.floor(r() * 8);
    return `${h}.${p}.${bytes.toString('base64url')}`;
  }),
  'signature cut by one': (d) => d.signed.push((t) => t.slice(0, -1)),
  'signature cut by two': (d) => d.signed.push((t) => t.slice(0, -2)),
  'signature one character longer': (d, r) => d.signed.push((t) => t + 'AQgw'[Math.floor(r() * 4)]!),
  'signature padded': (d) => d.signed.push((t) => `${t}=`),
  'no signature': (d) => d.signed.push((t) => t.slice(0, t.lastIndexOf('.') + 1)),
  'two parts': (d) => d.signed.push((t) => t.slice(0, t.lastIndexOf('.'))),
  'a fourth part': (d, r) => d.signed.push((t) => `${t}.${r() < 0.5 ? '' : 'eyJ9'}`),
  'a leading dot': (d) => d.signed.push((t) => `.${t}`),
  'a doubled dot': (d) => d.signed.push((t) => t.replace('.', '..')),
  'signed with another key': (d) => { d.signingKey = new TextEncoder().encode('another-secret-that-is-at-least-32-chars'); },
  'signed with a key one byte shorter': (d) => { d.signingKey = key.subarray(0, key.length - 1); },
  'a large payload': (d) => { for (let i = 0; i < 60; i++) d.payload.set(`c${i}`, q('z'.repeat(100))); },
  'a repeated claim name': (d, r) => { const v = r() < 0.5 ? `"x","exp":${now + 600}` : `${now + 600},"exp":"x"`; d.payload.delete('exp'); d.payload.set('exp', v); },
};

type Mutation = { name: string; apply: (d: Draft, r: () => number) => void };
const set = (part: 'header' | 'payload', field: string, value: string | undefined): Mutation => ({
  name: `${part}.${field}=${value === undefined ? '(absent)' : value.slice(0, 40)}`,
  apply: (d) => (value === undefined ? d[part].delete(field) : d[part].set(field, value)),
});
const MUTATIONS: Mutation[] = [
  ...Object.entries(CLAIM_VALUES).flatMap(([field, values]) => [undefined, ...values].map((v) => set('payload', field, v))),
  ...Object.entries(HEADER_VALUES).flatMap(([field, values]) => [undefined, ...values].map((v) => set('header', field, v))),
  ...Object.entries(FAULTS).map(([name, apply]) => ({ name, apply })),
];

function draft(): Draft {
  return {
    header: new Map([['alg', '"HS256"'], ['typ', '"JWT"']]),
    payload: new Map([['sub', '"u1"'], ['role', '"user"'], ['iss', q(issuer)], ['aud', q(audience)], ['iat', String(now - 10)], ['exp', String(now + 600)]]),
    encoded: [],
    signed: [],
    signingKey: key,
  };
}

function tokenOf(d: Draft): string {
  let parts: [string, string] = [(d.headerBytes ?? Buffer.from(jsonOf(d.header))).toString('base64url'), (d.payloadBytes ?? Buffer.from(jsonOf(d.payload))).toString('base64url')];
  for (const change of d.encoded) parts = change(parts);
  let token = `${parts[0]}.${parts[1]}.${createHmac('sha256', d.signingKey).update(`${parts[0]}.${parts[1]}`).digest('base64url')}`;
  for (const change of d.signed) token = change(token);
  return token;
}

/** Every single mutation once, then random combinations; each with the names of what was done. */
function* tokens(): Generator<{ token: string; made: string[] }> {
  const random = mulberry32(SEED);
  yield { token: tokenOf(draft()), made: [] };
  for (const m of MUTATIONS) {
    const d = draft();
    m.apply(d, random);
    yield { token: tokenOf(d), made: [m.name] };
  }
  for (let i = 0; i < COMBINED; i++) {
    const d = draft();
    const made = Array.from({ length: 2 + Math.floor(random() * 3) }, () => MUTATIONS[Math.floor(random() * MUTATIONS.length)]!);
    for (const m of made) m.apply(d, random);
    yield { token: tokenOf(d), made: made.map((m) => m.name) };
  }
}

type Verdict = 'accepted' | 'expired' | 'rejected';

async function joseVerdict(token: string, aud: string | undefined): Promise<Verdict> {
  try {
    await jwtVerify(token, key, { algorithms: ['HS256'], issuer, ...(aud ? { audience: aud } : {}), requiredClaims: ['exp'], currentDate: new Date(now * 1000) });
    return 'accepted';
  } catch (error) {
    return error instanceof errors.JWTExpired ? 'expired' : 'rejected';
  }
}

function fastVerdict(token: string, aud: string | undefined): Verdict {
  try {
    verifyHs256(token, fastKey, { issuer, ...(aud ? { audience: aud } : {}) }, now);
    return 'accepted';
  } catch (error) {
    assert.instance(error, RejectedToken, `${token}: ${String(error)}`);
    return (error as RejectedToken).expired ? 'expired' : 'rejected';
  }
}

/** Outside unpadded base64url: JWTs are written without padding (RFC 7515), and jose's atob tolerates padding and spaces. */
const outsideAlphabet = (token: string) => !/^[A-Za-z0-9_.-]*$/.test(token);

const parity = spec('the fast HS256 verifier gives jose\'s verdict on every mutated token');

parity(`seed ${SEED}: each single mutation and ${COMBINED} combinations, with and without JWT_AUDIENCE`, async () => {
  const tally = { tokens: 0, accepted: 0, expired: 0, rejected: 0, stricter: 0, stricterJoseAccepted: 0 };
  const disagreements: string[] = [];
  for (const { token, made } of tokens()) {
    tally.tokens++;
    for (const aud of [undefined, audience]) {
      const [ours, theirs] = [fastVerdict(token, aud), await joseVerdict(token, aud)];
      tally[theirs]++;
      if (outsideAlphabet(token)) {
        tally.stricter++;
        if (theirs === 'accepted') tally.stricterJoseAccepted++;
        if (ours !== 'rejected') disagreements.push(`${made.join(' + ')} (aud ${aud ?? 'unset'}): ${ours} outside the alphabet`);
      } else if (ours !== theirs) {
        disagreements.push(`${made.join(' + ')} (aud ${aud ?? 'unset'}): ours ${ours}, jose ${theirs}: ${token.slice(0, 200)}`);
      }
    }
  }
  process.stdout.write(`hs256 parity, seed ${SEED}: ${tally.tokens} tokens, ${tally.tokens * 2} verdicts (with and without an audience); ` +
    `jose accepted ${tally.accepted}, expired ${tally.expired}, rejected ${tally.rejected}; ${tally.stricter} outside unpadded base64url ` +
    `(refused by ours; jose accepted ${tally.stricterJoseAccepted}); disagreements ${disagreements.length}\n`);
  assert.equal(disagreements.slice(0, 15), [], `${disagreements.length} disagreements`);
  // A generator that only made garbage would agree trivially.
  assert.ok(tally.tokens >= 3_000 && tally.accepted >= 300 && tally.expired >= 100, JSON.stringify(tally));
});

parity.run();
