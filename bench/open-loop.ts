import { execFile, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { commandExists } from '../src/stack/process-control.ts';

const VEGETA_MODULE = 'github.com/tsenart/vegeta/v12@v12.12.0';
const BIN = fileURLToPath(new URL('../.stack/bin/', import.meta.url));
const VEGETA = `${BIN}vegeta`;

export interface OpenLoopResult {
  rate: number;
  requests: number;
  p50: number;
  p99: number;
  max: number;
  /** status code → count; "0" is a request that got no answer */
  statuses: Record<string, number>;
}

/**
 * vegeta sends at a fixed rate whatever the server does (open loop), so its latencies are service time plus
 * real queueing, not the closed loop's "as fast as the answers come back". Built from the Go module proxy into
 * .stack/bin when missing (go is on machines of this kind).
 */
export function ensureVegeta(): string {
  if (existsSync(VEGETA)) return VEGETA;
  const go = commandExists('go') ? 'go' : '/usr/local/go/bin/go';
  const built = spawnSync(go, ['install', VEGETA_MODULE], { env: { ...process.env, GOBIN: BIN }, encoding: 'utf8' });
  if (built.status !== 0 || !existsSync(VEGETA)) throw new Error(`building vegeta (${VEGETA_MODULE}) with go failed:\n${built.stderr ?? built.error}`);
  return VEGETA;
}

/** A vegeta targets file (JSON lines): one request per user token, in the tokens file's order. */
export async function writeTargets(file: string, url: string, method: 'GET' | 'POST', tokensFile: string): Promise<void> {
  const out = createWriteStream(file);
  for (const token of readFileSync(tokensFile, 'utf8').split('\n')) {
    if (!token) continue;
    if (!out.write(`${JSON.stringify({ method, url, header: { Authorization: [`Bearer ${token}`] } })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function openLoop(targetsFile: string, rate: number, seconds: number): Promise<OpenLoopResult> {
  const vegeta = ensureVegeta();
  const results = `${targetsFile}.bin`;
  await promisify(execFile)(vegeta, ['attack', '-format=json', `-targets=${targetsFile}`, `-rate=${rate}/s`, `-duration=${seconds}s`,
    '-timeout=10s', '-keepalive=true', `-output=${results}`], { maxBuffer: 1 << 20 });
  const { stdout } = await promisify(execFile)(vegeta, ['report', '-type=json', results]);
  const r = JSON.parse(stdout) as { requests: number; latencies: Record<string, number>; status_codes: Record<string, number> };
  const ms = (ns: number | undefined) => Math.round((ns ?? NaN) / 1e4) / 100;
  return { rate, requests: r.requests, p50: ms(r.latencies['50th']), p99: ms(r.latencies['99th']), max: ms(r.latencies.max), statuses: r.status_codes };
}
