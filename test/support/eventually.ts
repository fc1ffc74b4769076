import { setTimeout as sleep } from 'node:timers/promises';

/** Probes until `ok` holds or the time is up, and returns the last value for the test to assert on. */
export async function eventually<T>(probe: () => Promise<T> | T, ok: (t: T) => boolean, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await sleep(everyMs);
    value = await probe();
  }
  return value;
}
