import { loadConfig } from '../../src/config/config.ts';
import { ensureLocalStack, stopLocalService, type ServiceName } from '../../src/stack/local-stack.ts';

/** Outage tests stop and start real servers; only the local test stack lets a test do that. */
export const canStopServices = process.env.TEST_STACK === 'local';

const { stackDir } = loadConfig();

export async function stopService(name: ServiceName): Promise<void> {
  if (!(await stopLocalService(stackDir, 'test', name))) throw new Error(`${name} was not running under the test stack`);
}

export async function startService(name: ServiceName): Promise<void> {
  await ensureLocalStack(stackDir, 'test', () => undefined, [name]);
}
