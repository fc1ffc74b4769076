import type { Role } from '../config/config.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { startApi } from './api-role.ts';
import { startNotifier } from './notifier-role.ts';
import { startProjectorRole } from './projector-role.ts';
import { startRelay } from './relay-role.ts';
import type { RoleStarter, RunningRole } from './role.ts';

const STARTERS: Record<Role, RoleStarter> = {
  api: startApi,
  relay: startRelay,
  projector: startProjectorRole,
  notifier: startNotifier,
};

/** Workers start before the API so that, stopping in reverse, the API stops taking work first. */
export async function startRoles(roles: Role[], runtime: Runtime): Promise<RunningRole[]> {
  const ordered = [...roles].sort((a, b) => Number(a === 'api') - Number(b === 'api'));
  const running: RunningRole[] = [];
  for (const role of ordered) running.push(await STARTERS[role](runtime));
  return running;
}
