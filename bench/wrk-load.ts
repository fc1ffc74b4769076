import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { commandExists, runOrThrow } from '../src/stack/process-control.ts';

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** 2xx, 409, other 4xx, 5xx answers, and socket errors */
  answers: { ok: number; conflict: number; client: number; server: number; errors: number };
  /** With `cpuOf`: that process's CPU time (user + system, every thread) over the requests answered, in µs. */
  cpuUsPerRequest?: number;
}

/** A process's CPU time so far (user + system, all its threads), in µs: /proc's clock ticks, 10 ms each. */
export function cpuTimeUs(pid: number): number {
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th of them.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

const SCRIPT = fileURLToPath(new URL('./rotating-tokens.lua', import.meta.url));

/**
 * wrk (C, with a LuaJIT hook that puts the next user's token on each request) rather than autocannon:
 * autocannon rebuilds every request in JavaScript when each carries another token, which on this 2-core
 * machine took more CPU than the server under test (measured: the same API at 4.0k req/s under
 * autocannon, 11.6k under wrk).
 */
export function ensureWrk(): void {
  if (commandExists('wrk')) return;
  if (process.getuid?.() !== 0 || !commandExists('apt-get')) throw new Error('the benchmark needs wrk: apt-get install -y wrk');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  runOrThrow('apt-get', ['install', '-y', '-qq', 'wrk'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export async function load(
  name: string,
  url: string,
  options: { method: 'GET' | 'POST'; connections: number; seconds: number; tokensFile: string; cpuOf?: number },
): Promise<LoadResult> {
  const cpuBefore = options.cpuOf === undefined ? 0 : cpuTimeUs(options.cpuOf);
  const { stdout } = await promisify(execFile)('wrk', [
    '-t2', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', '-s', SCRIPT, url, '--', options.tokensFile, options.method,
  ]);
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as {
    requests: number; durationUs: number; p50Us: number; p99Us: number; errors: number; ok: number; conflict: number; client: number; server: number;
  };
  return {
    name,
    rps: Math.round(r.requests / (r.durationUs / 1e6)),
    p50: Math.round(r.p50Us / 100) / 10,
    p99: Math.round(r.p99Us / 100) / 10,
    answers: { ok: r.ok, conflict: r.conflict, client: r.client, server: r.server, errors: r.errors },
    ...(options.cpuOf === undefined ? {} : { cpuUsPerRequest: Math.round(((cpuTimeUs(options.cpuOf) - cpuBefore) / r.requests) * 10) / 10 }),
  };
}
