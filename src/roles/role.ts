import type { Role } from '../config/config.ts';
import type { Runtime } from '../runtime/runtime.ts';

export interface RunningRole {
  name: Role;
  /** Stops taking new work, finishes what is in flight, and resolves when done. */
  stop(): Promise<void>;
}

export type RoleStarter = (runtime: Runtime) => Promise<RunningRole>;
