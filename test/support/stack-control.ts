import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { readPid } from '../../src/stack/process-control.ts';
import { ensureLocalStack, stopLocalService, type ServiceName } from '../../src/stack/local-stack.ts';
import { pidFileOf, type StackPart } from '../../src/stack/services.ts';

/** Outage tests stop and start real servers; only the local test stack lets a test do that. */
export const canStopServices = process.env.TEST_STACK === 'local';

// Read when called, not at import: a script may choose its topology (`--cluster`) after its imports ran.
const stack = () => loadConfig();

/** Stops one server of the test stack: `redis`, `mysql`, `kafka`, or a cluster node such as `kafka-2`. */
export async function stopService(name: ServiceName): Promise<void> {
  if (!(await stopLocalService(stack().stackDir, 'test', name))) throw new Error(`${name} was not running under the test stack`);
}

/** Starts whatever of that server's part of the stack is down (a cluster node rejoins its cluster). */
export async function startService(name: ServiceName): Promise<void> {
  const { stackDir, topology } = stack();
  await ensureLocalStack(stackDir, 'test', () => undefined, [name.split('-')[0] as StackPart], topology);
}

/** `kill -9` one server of the test stack (a crash, not a shutdown); `startService` brings it back. */
export function killService(name: ServiceName): void {
  const pid = readPid(pidFileOf(join(resolve(stack().stackDir), 'test'), name));
  if (pid === undefined) throw new Error(`${name} is not running under the test stack`);
  process.kill(pid, 'SIGKILL');
}

/** Stops (SIGSTOP) or resumes (SIGCONT) one server of the test stack: a node that hangs without dying. */
export function freezeService(name: ServiceName, frozen: boolean): void {
  const pid = readPid(pidFileOf(join(resolve(stack().stackDir), 'test'), name));
  if (pid === undefined) throw new Error(`${name} is not running under the test stack`);
  process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}
