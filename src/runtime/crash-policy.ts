import type { Logger } from '../log/logger.ts';

/** The exit code of a process that stopped because something in it failed where nobody was waiting. */
export const CRASH_EXIT_CODE = 70;

/**
 * A rejection nobody handles or an exception nobody catches means some loop of this process may have died
 * while the rest carries on looking healthy. The process logs why and exits non-zero, so a supervisor (or
 * an operator) restarts it; every role resumes from stored state (outbox, checkpoints, delivery rows).
 */
export function exitOnStrayFailures(logger: Logger): void {
  const exit = (what: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${what}; exiting so the process is restarted`);
    process.exit(CRASH_EXIT_CODE);
  };
  process.on('unhandledRejection', exit('unhandled promise rejection'));
  process.on('uncaughtException', exit('uncaught exception'));
}
