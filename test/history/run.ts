/**
 * `npm run test:history`: a history checker, the way Jepsen's Knossos and Elle check real databases. Three API
 * processes, two relays and a projector on a stack of their own (the `history` profile); a dozen clients send
 * random requests on a few small coupons while faults are injected on a seeded schedule (Redis paused past
 * the command timeout, an API killed, a coupon lost from Redis and restored while live, a relay stalled past
 * its lease, a Kafka broker restarted). Every request and its answer is recorded; once the outbox has drained
 * and the read models caught up, the log is read and checker.ts looks for answers and events the rules
 * (coupon-rules.ts) cannot explain, then the audit runs. Prints `operations=… faults=… definite=… unknown=…
 * anomalies=N`, each anomaly after it, and exits 1 on any.
 *
 *   npm run test:history                        the short seeded form CI runs (about 40 s of traffic)
 *   npm run test:history -- --seconds 600 --seed 7
 *   npm run test:history -- --cluster           on the history profile's cluster topology
 *   npm run test:history -- --check FILE        checks a recorded history again (the run says where it wrote it)
 */
import '../../src/runtime/pinned-node.ts';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { signAccessToken } from '../../src/auth/token-signer.ts';
import { loadConfig } from '../../src/config/config.ts';
import { checkHistory, type Anomaly, type LoggedEvent } from './checker.ts';
import { createCoupon, legacyCoupon, runClient } from './clients.ts';
import { injectFaults, type Injected } from './faults.ts';
import { closeRuntime, Fleet, freshRuntime, historyEnv } from './fleet.ts';
import { Recorder, type Actor, type Operation } from './recorder.ts';
import { printAnomalies, writeHistory } from './report.ts';
import { audit, readLog, settle } from './settle.ts';
import { Belief, random, type Send } from './workload.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '40' }, seed: { type: 'string', default: '1' }, cluster: { type: 'boolean' }, check: { type: 'string' } } });
const say = (line: string) => process.stdout.write(`${line}\n`);
const CLIENTS = 12;

function summarize(operations: Operation[], faults: Injected[], anomalies: Anomaly[]): string {
  const unknown = operations.filter((op) => op.answer.type === 'unknown').length;
  return `operations=${operations.length} faults=${faults.length} definite=${operations.length - unknown} unknown=${unknown} anomalies=${anomalies.length}`;
}

function recheck(file: string): number {
  const run = JSON.parse(readFileSync(file, 'utf8')) as { operations: Operation[]; log: LoggedEvent[]; faults: Injected[] };
  const { anomalies } = checkHistory(run.operations, run.log);
  say(summarize(run.operations, run.faults, anomalies));
  printAnomalies(anomalies, say);
  return anomalies.length === 0 ? 0 : 1;
}

async function traffic(seed: number, seconds: number, cluster: boolean): Promise<number> {
  const started = Date.now();
  const topology = cluster ? 'cluster' : 'single';
  const env = await historyEnv(topology, say);
  const runtime = await freshRuntime(env);
  const fleet = await Fleet.start(env);
  say(`stack and processes up in ${((Date.now() - started) / 1000).toFixed(1)} s (${topology}, seed ${seed})`);
  const anomalies: Anomaly[] = [];
  try {
    const tokens = new Map<string, Promise<string>>();
    const tokenOf = (a: Actor) => tokens.get(a.userId) ?? tokens.set(a.userId, signAccessToken(runtime.config.jwt, { userId: a.userId, role: a.role })).get(a.userId)!;
    const recorder = new Recorder(tokenOf);
    const pickApi = random(seed ^ 0x5bd1e995);
    const urls = fleet.urls();
    const send: Send = (client, kind, couponId, actor, params, key, timeoutMs, api) =>
      recorder.send({ client, kind, couponId, actor, params, key, api: urls[api ?? Math.floor(pickApi() * urls.length)]!, timeoutMs });
    const belief = new Belief();
    await legacyCoupon(send, belief, recorder, runtime.redis, runtime.config.admission.shards);
    for (let i = 0; i < 3; i++) await createCoupon(send, random(seed + i), belief, 'setup');
    const ready = await settle(runtime, 30_000);
    if (ready) throw new Error(`set-up ${ready}`);

    const until = Date.now() + seconds * 1000;
    let stopped = false;
    const failures: string[] = [];
    const clients = Array.from({ length: CLIENTS }, (_, i) =>
      runClient(`c${i}`, send, random(seed * 1_000 + i), belief, () => stopped).catch((e: Error) => void failures.push(`client c${i} stopped: ${e.message}`)));
    say(`traffic for ${seconds} s: ${CLIENTS} clients, faults one after another`);
    const faults = await injectFaults({ fleet, runtime, env, send, belief, topology, rng: random(seed + 7) }, until, say);
    await sleep(Math.max(0, until - Date.now()));
    stopped = true;
    await Promise.all(clients);

    const unsettled = await settle(runtime, 120_000);
    const { log, unreadable } = await readLog(runtime);
    const result = checkHistory(recorder.operations, log);
    const audited = await audit(runtime);
    anomalies.push(...result.anomalies, ...[...failures, ...(unsettled ? [unsettled] : []), ...unreadable].map((what) => ({ couponId: '', what })),
      ...audited.findings.map((f) => ({ couponId: '', what: `audit: ${f}` })));
    // Kept only when there is something to read again: a 600 s history is over 100 MB.
    const file = join(resolve(loadConfig().stackDir), 'history', 'runs', `seed-${seed}-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`);
    if (anomalies.length > 0) writeHistory(file, { seed, operations: recorder.operations, log, faults, anomalies });
    say(`\nlog: ${result.events} events (${result.copies} copies counted once); unknown outcomes that took effect: ${result.resolved}; ${audited.summary}`);
    const restarted = fleet.restarted.length > 0 ? `; exited on their own and started again: ${fleet.restarted.join(', ')}` : '';
    const kept = anomalies.length > 0 ? `; history written to ${file} (npm run test:history -- --check FILE checks it again)` : '';
    say(`faults: ${faults.map((f) => f.name).join(', ')}${restarted}${kept}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    say(summarize(recorder.operations, faults, anomalies));
    printAnomalies(anomalies, say);
    const logged = fleet.errors();
    if (anomalies.length > 0 && logged.length > 0) say(`\nwhat the processes logged as errors (${logged.length}):\n${logged.slice(0, 20).join('\n')}`);
  } finally {
    await fleet.stop();
    await closeRuntime(runtime);
  }
  return anomalies.length === 0 ? 0 : 1;
}

const code = values.check ? recheck(values.check) : await traffic(Number(values.seed), Number(values.seconds), values.cluster ?? false);
process.exit(code);
