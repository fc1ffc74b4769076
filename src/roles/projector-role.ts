import { PROJECTIONS } from '../../projections/projections.ts';
import { watchProjectionLag } from '../projector/projection-lag-gauge.ts';
import { liveRun } from '../projector/apply-batch.ts';
import { startProjector, type RunningProjector } from '../projector/projector.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { RunningRole } from './role.ts';

export interface RunningProjectorRole extends RunningRole {
  projector: RunningProjector;
}

export async function startProjectorRole(runtime: Runtime): Promise<RunningProjectorRole> {
  watchProjectionLag(runtime);
  const projector = await startProjector(runtime, PROJECTIONS.map(liveRun));
  return { name: 'projector', projector, stop: () => projector.stop() };
}
