/**
 * `npm run bench:log-readers`: what the forever log's readers cost. Writes N events (default 1,000,000) to a
 * topic of its own and projects them, then runs a full admission restore (into an emptied Redis) and the
 * audit, each in its own process under `--max-old-space-size=512`, and reports time and peak RSS.
 * `BENCH_BASELINE=<git revision>` runs the same two steps with that revision's code as well (from a git
 * worktree), against the same log and stores in the same run: a before/after on one machine.
 */
import '../src/runtime/pinned-node.ts';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { closeRuntime } from '../src/runtime/runtime.ts';
import { baselineTree } from './fixtures.ts';
import { openBenchRuntime, projectToEnd, writeSyntheticLog } from './projections.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HEAP_MB = 512;
const say = (line: string) => process.stdout.write(`${line}\n`);

interface StepResult {
  seconds: number;
  peakRssMb: number;
  detail: string;
}

/** The child: one step with the code under `root`, then its time and the process's high-water RSS. */
async function runStep(step: 'restore' | 'audit', root: string): Promise<StepResult> {
  const from = (path: string) => import(pathToFileURL(`${root}/src/${path}`).href);
  const { loadConfig: load } = await from('config/config.ts');
  const { openRuntime: open, closeRuntime: close, logAndStores } = await from('runtime/runtime.ts');
  const { createLogger: logger } = await from('log/logger.ts');
  const runtime = await open(load(), logger('warn', 'bench'));
  try {
    const started = Date.now();
    let detail: string;
    if (step === 'restore') {
      await runtime.redis.flushdb();
      const { AdmissionRecovery } = await from('coupons/recovery/admission-recovery.ts');
      detail = `${(await new AdmissionRecovery(logAndStores(runtime)).restore()).length} coupons restored`;
    } else {
      const { runAudit, auditPassed } = await from('audit/run-audit.ts');
      const report = await runAudit(logAndStores(runtime));
      const first = [...report.violations, ...report.readModelDifferences, ...report.redisDifferences][0];
      detail = `${report.events} events, ${auditPassed(report) ? 'passed' : `FAILED: ${first}`}`;
    }
    const seconds = (Date.now() - started) / 1000;
    const peakRssMb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
    return { seconds, peakRssMb, detail };
  } finally {
    await close(runtime);
  }
}

function spawnStep(step: string, root: string, env: NodeJS.ProcessEnv): Promise<StepResult | string> {
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--disable-warning=TimeoutNegativeWarning',
    fileURLToPath(import.meta.url), '--step', step, '--root', root], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => {
    const result = /^RESULT (.*)$/m.exec(out)?.[1];
    resolve(code === 0 && result ? (JSON.parse(result) as StepResult) : `exit ${code}: ${/heap out of memory|Error[^\n]*/i.exec(out)?.[0] ?? out.trim().split('\n').pop()}`);
  }));
}

async function main(): Promise<void> {
  const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  const { runtime, env } = await openBenchRuntime('coupon_bench_logs', 'bench.log-readers', 13);
  const topic = runtime.config.kafka.topic;
  try {
    say(`writing ${events.toLocaleString('en')} events to ${topic}, then projecting them`);
    await writeSyntheticLog(runtime, topic, events);
    await projectToEnd(runtime);

    const variants = [
      ...(process.env.BENCH_BASELINE ? [{ name: `before (${process.env.BENCH_BASELINE})`, root: baselineTree(process.env.BENCH_BASELINE) }] : []),
      { name: 'this tree', root: ROOT },
    ];
    say(`\n| code | step | time | peak RSS | |\n|---|---|---:|---:|---|`);
    for (const variant of variants) {
      for (const step of ['restore', 'audit']) {
        const result = await spawnStep(step, variant.root, env);
        say(typeof result === 'string'
          ? `| ${variant.name} | ${step} | – | – | ${result} |`
          : `| ${variant.name} | ${step} | ${result.seconds.toFixed(1)} s | ${Math.round(result.peakRssMb)} MB | ${result.detail} |`);
      }
    }
  } finally {
    await runtime.kafka.deleteTopics([topic]).catch(() => undefined);
    await closeRuntime(runtime);
  }
}

const { values } = parseArgs({ options: { step: { type: 'string' }, root: { type: 'string' } } });
if (values.step === 'restore' || values.step === 'audit') {
  say(`RESULT ${JSON.stringify(await runStep(values.step, values.root ?? ROOT))}`);
  process.exit(0);
} else {
  await main();
}
