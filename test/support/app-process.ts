import { spawn, type ChildProcess } from 'node:child_process';
import { MEMORY_ENV, MEMORY_FLAGS } from '../../src/runtime/memory-flags.ts';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface AppProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** How it exited, or a thrown error with its output if it is still running after `timeoutMs`. */
  exitedWithin(timeoutMs: number, why: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `src/main.ts` as its own process, the way `npm start` does, on a free port. */
export function spawnApp(env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, preload: string[] = []): Promise<AppProcess> {
  return spawnScript(MAIN, env, timeoutMs, preload);
}

/** Runs a TypeScript entry point that prints `running roles [...] at <url>` once it serves. */
export function spawnScript(script: string | URL, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, preload: string[] = []): Promise<AppProcess> {
  const path = script instanceof URL ? fileURLToPath(script) : script;
  const imports = preload.flatMap((module) => ['--import', module]);
  // Started as `npm start` starts it: the memory flags (src/runtime/memory-flags.ts) before everything else.
  const child = spawn(process.execPath, [...MEMORY_FLAGS, ...imports, '--disable-warning=TimeoutNegativeWarning', path], {
    env: { ...MEMORY_ENV, ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const exitedWithin = async (ms: number, why: string) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${ms} ms, expected it to exit: ${why}\n${out}`)), ms);
    });
    try {
      return await Promise.race([exited, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  const stop = async (graceMs = 20_000) => {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`app did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = () => {
      const match = /running roles \[[^\]]*\](?: at (http:\/\/\S+))?/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({ url: match[1] ?? '', child, output: () => out, exited, exitedWithin, stop });
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`app exited with ${code} before it was ready:\n${out}`));
    });
  });
}

/** Runs `src/main.ts` expecting it to refuse to start. */
export function runAppToExit(env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<{ code: number | null; output: string }> {
  return runToExit(MAIN, [], env, timeoutMs);
}

/** Runs one of the project's CLIs (`src/cli/<name>.ts`) to completion. */
export function runCli(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  return runToExit(fileURLToPath(new URL(`../../src/cli/${name}.ts`, import.meta.url)), args, env);
}

/** Bounded: a process still running after `timeoutMs` is killed and the wait fails with what it printed. */
async function runToExit(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (timedOut) throw new Error(`${script} was still running after ${timeoutMs} ms, expected it to exit:\n${output}`);
  return { code, output };
}
