import { setTimeout as sleep } from 'node:timers/promises';

const shown = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  return text === undefined ? String(value) : text.length > 1_000 ? `${text.slice(0, 1_000)}…` : text;
};

/**
 * Probes until `ok` holds and returns the value that satisfied it; when time is up it throws, naming what
 * it waited for and the last value it saw, so a wait can never pass by running out.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T> | T,
  ok: (value: T) => boolean,
  { timeoutMs = 20_000, everyMs = 50 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; last saw ${shown(value)}`);
    await sleep(everyMs);
  }
}
