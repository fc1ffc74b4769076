import { setTimeout as sleep } from 'node:timers/promises';
import { pingDatabase } from '../db/database.ts';
import type { CoreDependency as Dependency } from '../dependencies/dependency-unavailable.ts';
import type { Runtime } from '../runtime/runtime.ts';

export type HealthReport = Record<Dependency, { up: boolean; error?: string }>;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function checkDependencies(runtime: Pick<Runtime, 'redis' | 'db' | 'kafka'>, timeoutMs = 2_000): Promise<HealthReport> {
  const probes: Record<Dependency, () => Promise<unknown>> = {
    redis: () => runtime.redis.ping(),
    mysql: () => pingDatabase(runtime.db),
    kafka: () => runtime.kafka.ping(timeoutMs),
  };
  const entries = await Promise.all(
    (Object.keys(probes) as Dependency[]).map(async (name) => {
      try {
        await within(probes[name](), timeoutMs);
        return [name, { up: true }] as const;
      } catch (error) {
        return [name, { up: false, error: error instanceof Error ? error.message : String(error) }] as const;
      }
    }),
  );
  return Object.fromEntries(entries) as HealthReport;
}

export const downDependencies = (report: HealthReport): Dependency[] =>
  (Object.keys(report) as Dependency[]).filter((name) => !report[name].up);

/** Start-up waits for dependencies that are still coming up (a fresh broker, a compose service) instead of failing. */
export async function waitForDependencies(runtime: Runtime, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const down = downDependencies(await checkDependencies(runtime));
    if (down.length === 0) return;
    if (Date.now() > deadline) throw new Error(`dependencies still unreachable after ${timeoutMs} ms: ${down.join(', ')}`);
    runtime.logger.info({ down }, 'waiting for dependencies');
    await sleep(500);
  }
}
