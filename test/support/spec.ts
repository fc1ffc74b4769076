import { appendFileSync } from 'node:fs';
import { suite } from 'uvu';

/**
 * uvu with what the runner (test/run.ts) needs to count honestly. Every test is declared before anything
 * runs, so a file whose setup fails still reports each of its tests (as failed); a fixture is built in the
 * suite's setup, not at import time, and handed to each test; a test that cannot run here says so with
 * `skip()` and is counted as skipped, never as passed. Each outcome is written as a JSON line to the file
 * the runner names in TEST_RESULTS_FILE: the runner counts from those lines, not from uvu's output.
 */

export type Outcome = 'passed' | 'failed' | 'skipped';

export type ResultLine =
  | { event: 'declared'; suite: string; test: string }
  | { event: Outcome; suite: string; test: string; ms: number; reason?: string; skipKey?: string }
  | { event: 'teardown-failed'; suite: string; reason: string }
  | { event: 'done'; suite: string };

const resultsFile = process.env.TEST_RESULTS_FILE;

function record(line: ResultLine): void {
  if (resultsFile) appendFileSync(resultsFile, `${JSON.stringify(line)}\n`);
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').slice(0, 500);

export class Skipped extends Error {
  readonly key: string;
  readonly reason: string;

  constructor(key: string, reason: string) {
    super(`skipped (${key}): ${reason}`);
    this.key = key;
    this.reason = reason;
    this.name = 'Skipped';
  }
}

/**
 * Ends the running test as skipped. `key` names the kind of environment it needs (`docker-engine`,
 * `local-stack`, …): CI lists the keys it accepts as skipped, and fails on any other.
 */
export function skip(key: string, reason: string): never {
  throw new Skipped(key, reason);
}

export interface Spec<F> {
  (title: string, body: (fixture: F) => unknown): void;
  run(): void;
}

type Closable = { close(): unknown };
const closable = (value: unknown): value is Closable => typeof (value as Closable | undefined)?.close === 'function';

/**
 * A suite whose tests share the fixture `setup` builds (closed after the last test, through `teardown` or
 * the fixture's own `close()`).
 */
export function spec<F = undefined>(name: string, setup?: () => Promise<F> | F, teardown?: (fixture: F) => unknown): Spec<F> {
  const tests = suite(name);
  let fixture: F | undefined;
  let setupError: unknown;

  tests.before(async () => {
    try {
      fixture = await setup?.();
    } catch (error) {
      setupError = error;
      process.stderr.write(`setup of "${name}" failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    }
  });
  tests.after(async () => {
    try {
      if (fixture !== undefined) await (teardown ? teardown(fixture) : closable(fixture) ? fixture.close() : undefined);
    } catch (error) {
      record({ event: 'teardown-failed', suite: name, reason: describe(error) });
    }
    record({ event: 'done', suite: name });
  });

  const declare = (title: string, body: (fixture: F) => unknown) => {
    record({ event: 'declared', suite: name, test: title });
    tests(title, async () => {
      const started = performance.now();
      const finish = (event: Outcome, extra: { reason?: string; skipKey?: string } = {}) =>
        record({ event, suite: name, test: title, ms: Math.round(performance.now() - started), ...extra });
      if (setupError !== undefined) {
        finish('failed', { reason: `setup failed: ${describe(setupError)}` });
        throw new Error(`setup failed: ${describe(setupError)}`);
      }
      try {
        await body(fixture as F);
      } catch (error) {
        if (error instanceof Skipped) {
          finish('skipped', { reason: error.reason, skipKey: error.key });
          process.stdout.write(`\n  ↷ skipped "${title}": ${error.reason}\n`);
          return;
        }
        finish('failed', { reason: describe(error) });
        throw error;
      }
      finish('passed');
    });
  };
  return Object.assign(declare, { run: () => tests.run() });
}
