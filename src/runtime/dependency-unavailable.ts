import type { Dependency } from '../health/dependency-health.ts';

/** A dependency did not answer: the caller gets 503 and may retry; nothing was decided. */
export class DependencyUnavailable extends Error {
  constructor(
    readonly dependency: Dependency,
    cause: unknown,
  ) {
    super(`${dependency} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DependencyUnavailable';
  }
}
