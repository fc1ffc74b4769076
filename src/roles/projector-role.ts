import { PROJECTIONS } from '../../projections/projections.ts';
import { startProjector, type RunningProjector } from '../projections/projector.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { RunningRole } from './role.ts';

export interface RunningProjectorRole extends RunningRole {
  projectors: RunningProjector[];
}

export async function startProjectorRole(runtime: Runtime): Promise<RunningProjectorRole> {
  const projectors = await Promise.all(PROJECTIONS.map((projection) => startProjector(runtime, projection)));
  return {
    name: 'projector',
    projectors,
    stop: async () => {
      await Promise.all(projectors.map((p) => p.stop()));
    },
  };
}
