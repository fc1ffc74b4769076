import * as assert from 'uvu/assert';
import { eligibilityClaims } from '../../src/auth/identity.ts';
import { allowListChunks, type AllowListFormat } from '../../src/coupons/eligibility/allow-list-upload.ts';
import type { Problem } from '../../src/http/problem.ts';
import { spec } from '../support/spec.ts';

/** The body as it arrives: in pieces cut anywhere, even inside a line or a character. */
async function* pieces(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
const read = async (text: string, format: AllowListFormat, size = 7) => {
  const chunks: string[][] = [];
  for await (const chunk of allowListChunks(pieces(text, size), format)) chunks.push(chunk);
  return chunks;
};
const refusal = async (text: string, format: AllowListFormat) => {
  try {
    await read(text, format);
  } catch (error) {
    return [(error as Problem).code, (error as Problem).detail];
  }
  return undefined;
};

const upload = spec('an allow-list upload, read as it streams');
upload('NDJSON: strings or {userId} objects, one per line, CRLF or LF, blank lines skipped, whatever the cuts', async () => {
  for (const size of [1, 3, 64]) {
    assert.equal(await read('"ann"\r\n{"userId":"bob"}\n\n"çé-ü"\n', 'ndjson', size), [['ann', 'bob', 'çé-ü']]);
  }
});
upload('CSV: the first field, quoted or not; a userId header is skipped', async () => {
  assert.equal(await read('userId,name\nann,Ann\n"b,ob",x\n"c""at"\ndan', 'csv'), [['ann', 'b,ob', 'c"at', 'dan']]);
});
upload('chunks of 1,000: 2,500 ids come as 1,000, 1,000 and 500', async () => {
  const text = Array.from({ length: 2_500 }, (_, i) => `"u${i}"`).join('\n');
  assert.equal((await read(text, 'ndjson', 4_096)).map((c) => c.length), [1_000, 1_000, 500]);
});
upload('a bad line is refused by its number, saying the list in force is unchanged', async () => {
  assert.equal(await refusal('"ann"\n{"user":"bob"}\n', 'ndjson'), ['VALIDATION_FAILED', 'Line 2: a user id must be a string of 1 to 191 characters without control characters; the list in force is unchanged']);
  assert.equal((await refusal('"ann"\nnot json\n', 'ndjson'))?.[1], 'Line 2: not valid JSON; the list in force is unchanged');
  assert.equal((await refusal(`ann\n${'x'.repeat(192)}\n`, 'csv'))?.[0], 'VALIDATION_FAILED');
  assert.equal((await refusal('"ann\n', 'csv'))?.[1], 'Line 1: an unterminated quoted field; the list in force is unchanged');
  assert.equal((await refusal(`"${'y'.repeat(5_000)}`, 'ndjson'))?.[1], 'Line 1: a line longer than 4096 characters; the list in force is unchanged');
});
upload.run();

const claims = spec('the token claims eligibility can match');
claims('strings and lists of strings, not registered claims, role or email, nor other shapes', () => {
  assert.equal(eligibilityClaims({ sub: 'u', role: 'user', exp: 1, iat: 1, email: 'a@b', tier: 'gold', groups: ['a', 'b'], n: 3, nested: { a: 1 }, mixed: ['a', 1] }),
    { tier: 'gold', groups: ['a', 'b'] });
});
claims.run();
