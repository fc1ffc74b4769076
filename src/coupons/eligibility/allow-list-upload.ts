import { Problem } from '../../http/problem.ts';

export type AllowListFormat = 'ndjson' | 'csv';

/** The most ids one upload may hold, and bytes one line may take: a list of millions streams through in bounded memory. */
export const MAX_ALLOW_LIST = 5_000_000;
const MAX_LINE_BYTES = 4_096;
const CHUNK = 1_000;

const invalid = (line: number, message: string) =>
  new Problem('VALIDATION_FAILED', `Line ${line}: ${message}; the list in force is unchanged`, { errors: [{ path: `line ${line}`, message }] });

function userIdOf(value: unknown, line: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 191 || /[\u0000-\u001f]/.test(value)) {
    throw invalid(line, 'a user id must be a string of 1 to 191 characters without control characters');
  }
  return value;
}

/** One NDJSON line: a JSON string, or an object with `userId`. */
function ndjsonId(text: string, line: number): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(line, 'not valid JSON');
  }
  return userIdOf(typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { userId?: unknown }).userId : value, line);
}

/** One CSV line's first field (quoted or not); a first line naming the column (`userId`, `user_id`) is a header. */
function csvId(text: string, line: number): string | undefined {
  let field: string;
  if (text.startsWith('"')) {
    const match = /^"((?:[^"]|"")*)"(?:,|$)/.exec(text);
    if (!match) throw invalid(line, 'an unterminated quoted field');
    field = match[1]!.replace(/""/g, '"');
  } else {
    field = text.split(',', 1)[0]!.trim();
  }
  if (line === 1 && /^user_?id$/i.test(field)) return undefined;
  return userIdOf(field, line);
}

/**
 * The user ids of an uploaded list, `CHUNK` at a time, read from the body as it arrives (a consumer that
 * waits holds the upload back), so memory holds one chunk and one line whatever the list's length. A bad
 * line throws a 400 naming it; blank lines are skipped.
 */
export async function* allowListChunks(body: AsyncIterable<Buffer>, format: AllowListFormat): AsyncGenerator<string[]> {
  const idOf = format === 'csv' ? csvId : ndjsonId;
  let chunk: string[] = [];
  let count = 0;
  let lineNo = 0;
  let rest = '';
  const take = (text: string) => {
    lineNo++;
    const trimmed = text.replace(/\r$/, '');
    if (trimmed.trim() === '') return;
    const id = idOf(trimmed, lineNo);
    if (id === undefined) return;
    if (++count > MAX_ALLOW_LIST) throw new Problem('PAYLOAD_TOO_LARGE', `An allow-list may hold at most ${MAX_ALLOW_LIST} ids`);
    chunk.push(id);
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const bytes of body) {
    let text: string;
    try {
      text = rest + decoder.decode(bytes, { stream: true });
    } catch {
      throw invalid(lineNo + 1, 'not UTF-8');
    }
    const lines = text.split('\n');
    rest = lines.pop()!;
    if (rest.length > MAX_LINE_BYTES) throw invalid(lineNo + 1, `a line longer than ${MAX_LINE_BYTES} characters`);
    for (const line of lines) {
      take(line);
      if (chunk.length === CHUNK) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (rest !== '') take(rest);
  if (chunk.length > 0) yield chunk;
}
