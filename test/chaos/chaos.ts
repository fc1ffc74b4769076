/**
 * `npm run test:chaos`: issue and use traffic for a while (CHAOS_SECONDS, default 120) while, every few
 * seconds, something dies: the API, the relay or the projector with kill -9, or Kafka, Redis or MariaDB
 * stopped and started again. Then, once everything has caught up: every 201 is in the log exactly once,
 * nothing is in the log that Redis did not admit, the audit passes, nothing is over-issued, and no answer
 * was a 5xx other than 503. Prints the counts; exits 1 on any finding.
 *
 * `npm run test:chaos -- --cluster` runs on the cluster topology (3 brokers, Redis Cluster 3+3) and kills
 * -9, in turn, the broker leading the busiest partition, the Redis master of the busiest shard (its replica
 * takes over), then both at once; each node comes back after a few seconds, as a supervisor would bring it.
 * It reports how long the issue route answered 503 around each failover. `ADMISSION_REPLICAS` (default 1
 * on the cluster) chooses whether a 201 waits for a replica.
 */
import '../../src/runtime/pinned-node.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditPassed, runAudit } from '../../src/audit/run-audit.ts';
import { signAccessToken } from '../../src/auth/token-signer.ts';
import { loadConfig, type ResolvedConfig } from '../../src/config/config.ts';
import { recreateDatabase } from '../../src/db/recreate-database.ts';
import { parseCouponEvent } from '../../src/events/coupon-events.ts';
import { createLogger } from '../../src/log/logger.ts';
import { closeRuntime, logAndStores, openRuntime } from '../../src/runtime/runtime.ts';
import { ensureLocalStack, type ServiceName } from '../../src/stack/local-stack.ts';
import { spawnApp, type AppProcess } from '../support/app-process.ts';
import { redisNodeName, servedBy, slotOfShard } from '../support/cluster-topology.ts';
import { killService, startService, stopService } from '../support/stack-control.ts';
import { flushEveryNode } from '../../src/redis/redis-client.ts';
import { shardOf } from '../../src/ids/ids.ts';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 120);
const CLUSTER = process.argv.includes('--cluster');
const PORT = 38_090;
const say = (line: string) => process.stdout.write(`${line}\n`);

if (CLUSTER) process.env.STACK_TOPOLOGY = 'cluster';
const base = loadConfig();
const endpoints = await ensureLocalStack(base.stackDir, 'test', (l) => say(`stack: ${l}`), undefined, base.topology);
const env = {
  ...(CLUSTER
    ? { REDIS_CLUSTER_NODES: endpoints.redisClusterNodes!.join(','), ADMISSION_REPLICAS: process.env.ADMISSION_REPLICAS ?? '1' }
    : { REDIS_URL: `${endpoints.redisUrl}/6` }),
  MYSQL_URL: await recreateDatabase(endpoints.mysqlUrl, 'coupon_chaos'),
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
  KAFKA_TOPIC: 'chaos.coupon.events',
  JWT_SECRET: 'chaos-secret-that-is-at-least-32-characters-long',
  LOG_LEVEL: 'error',
  HTTP_REUSE_PORT: 'true',
  USER_LIMIT: '1000',
};
const config = loadConfig({ ...process.env, ...env }) as ResolvedConfig;
const setup = await openRuntime(config, createLogger('error', 'chaos'));
await flushEveryNode(setup.redis);
await setup.kafka.deleteTopics([config.kafka.topic]);
await closeRuntime(setup);

type Role = 'api' | 'relay' | 'projector';
const running = new Map<Role, AppProcess>();
const start = async (role: Role) => running.set(role, await spawnApp({ ...env, ROLES: role, PORT: String(PORT) }, 120_000));
await start('api');
await start('relay');
await start('projector');
const api = `http://127.0.0.1:${PORT}`;

const admin = await signAccessToken(config.jwt, { userId: 'chaos-admin', role: 'admin' });
const now = Date.now();
const coupons: string[] = [];
for (let i = 0; i < 4; i++) {
  const res = await fetch(`${api}/admin/coupons`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `Chaos ${i}`, totalQuantity: 25_000, discount: { type: 'PERCENT', value: 5 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
    }),
  });
  coupons.push(((await res.json()) as { id: string }).id);
}

const counts = { requests: 0, issued: 0, used: 0, conflicts: 0, unavailable503: 0, otherFivexx: 0, unanswered: 0 };
/** When the issue route answered 201 and when 503: the failover windows are read from these. */
const issueTimeline: { at: number; couponId: string; status: 201 | 503 }[] = [];
let slowest = 0;
const conflictCodes: Record<string, number> = {};
const answeredIssued = new Set<string>();
let stopping = false;
let user = 0;

async function worker(): Promise<void> {
  while (!stopping) {
    const name = `chaos-user-${user++}`;
    const token = await signAccessToken(config.jwt, { userId: name, role: 'user' });
    const couponId = coupons[user % coupons.length]!;
    try {
      counts.requests++;
      const asked = Date.now();
      const res = await fetch(`${api}/coupons/${couponId}/issue`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
      slowest = Math.max(slowest, Date.now() - asked);
      const body = (await res.json()) as { issuedCouponId?: string };
      if (res.status === 201 || res.status === 503) issueTimeline.push({ at: Date.now(), couponId, status: res.status });
      if (res.status === 201) {
        counts.issued++;
        answeredIssued.add(body.issuedCouponId!);
        if (user % 4 === 0) {
          counts.requests++;
          const use = await fetch(`${api}/issued-coupons/${body.issuedCouponId}/use`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
          if (use.status === 200) counts.used++;
          else if (use.status === 503) counts.unavailable503++;
          else if (use.status >= 500) counts.otherFivexx++;
        }
      } else if (res.status === 409) {
        counts.conflicts++;
        const code = (body as { code?: string }).code ?? '?';
        conflictCodes[code] = (conflictCodes[code] ?? 0) + 1;
      }
      else if (res.status === 503) counts.unavailable503++;
      else if (res.status >= 500) counts.otherFivexx++;
    } catch {
      counts.unanswered++; // the API was down or killed mid-request: no answer is not a wrong answer
      await sleep(100);
    }
  }
}

const singleNodeActions: { name: string; run: () => Promise<void> }[] = [
  ...(['api', 'relay', 'projector'] as Role[]).map((role) => ({
    name: `kill -9 ${role}`,
    run: async () => {
      const p = running.get(role)!;
      p.child.kill('SIGKILL');
      await p.exited;
      await sleep(500);
      await start(role);
    },
  })),
  ...(['kafka', 'redis', 'mysql'] as ServiceName[]).map((service) => ({
    name: `restart ${service}`,
    run: async () => {
      await stopService(service);
      await sleep(1_000);
      await startService(service);
    },
  })),
];

// Silent: it asks brokers that are down on purpose, and kafkajs would log every refused connection.
const control = await openRuntime(config, createLogger('silent', 'chaos'));

interface Victim {
  node: ServiceName;
  /** True once another node serves what the victim served. */
  replaced(): Promise<boolean>;
}

/** The broker leading the partition with the most events; replaced once another broker leads it. */
async function busiestLeader(): Promise<Victim> {
  const ends = await control.kafka.endOffsets(config.kafka.topic);
  const [busiest] = [...ends].sort((a, b) => Number(b[1] - a[1]))[0]!;
  const leader = (await control.kafka.partitionLeaders(config.kafka.topic)).get(busiest)!;
  return {
    node: `kafka-${leader}`,
    replaced: async () => {
      const now = (await control.kafka.partitionLeaders(config.kafka.topic).catch(() => new Map<number, number>())).get(busiest);
      return now !== undefined && now !== leader && now !== -1;
    },
  };
}

/** The Redis master serving the first coupon's shard (every coupon gets the same traffic); replaced once its replica took over. */
async function busiestMaster(): Promise<Victim> {
  const slot = await slotOfShard(control.redis, shardOf(coupons[0]!, config.admission.shards));
  const { master } = await servedBy(control.redis, slot);
  return {
    node: redisNodeName(config.redisClusterNodes!, master),
    replaced: async () => (await servedBy(control.redis, slot).catch(() => ({ master }))).master !== master,
  };
}

/**
 * kill -9, wait until the cluster has moved the victim's work to another node (a replica promoted, another
 * leader elected), then start the victim again as a supervisor would: it rejoins as a follower or replica.
 */
async function crash(victims: Victim[]): Promise<string> {
  const killedAt = Date.now();
  for (const v of victims) killService(v.node);
  const takeovers: string[] = [];
  await Promise.all(victims.map(async (v) => {
    const deadline = Date.now() + 60_000;
    while (!(await v.replaced())) {
      if (Date.now() > deadline) throw new Error(`nothing took over from ${v.node} within 60 s`);
      await sleep(200);
    }
    takeovers.push(`${v.node} taken over after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
  }));
  await Promise.all(victims.map((v) => startService(v.node)));
  return takeovers.join(', ');
}
const clusterActions: { name: string; run: () => Promise<string> }[] = [
  { name: 'kill -9 the leader of the busiest partition', run: async () => crash([await busiestLeader()]) },
  { name: 'kill -9 the Redis master of the busiest shard', run: async () => crash([await busiestMaster()]) },
  { name: 'kill -9 both at once', run: async () => crash([await busiestLeader(), await busiestMaster()]) },
];

const actions: { name: string; run: () => Promise<string | void> }[] = CLUSTER ? clusterActions : singleNodeActions;

say(`chaos for ${SECONDS} s: 40 clients issuing and using, something dies every 8 s`);
const workers = Array.from({ length: 40 }, () => worker());
const done: { name: string; at: number }[] = [];
const deadline = Date.now() + SECONDS * 1000;
let round = 0;
while (Date.now() < deadline) {
  await sleep(8_000);
  const action = actions[round++ % actions.length]!;
  const at = Date.now();
  const detail = await action.run();
  say(`  ${new Date(at).toISOString()} ${action.name}${detail ? ` (${detail})` : ''}`);
  done.push({ name: `${action.name}${detail ? ` (${detail})` : ''}`, at });
}
stopping = true;
await Promise.all(workers);
await closeRuntime(control);

/** The longest time one coupon's issue answers were all 503 (from its first 503 to its next 201). */
function longestRefusal(answers: typeof issueTimeline): number {
  let longest = 0;
  for (const couponId of coupons) {
    let since: number | undefined;
    for (const a of answers.filter((x) => x.couponId === couponId)) {
      if (a.status === 503) since ??= a.at;
      else if (since !== undefined) {
        longest = Math.max(longest, a.at - since);
        since = undefined;
      }
    }
    if (since !== undefined) longest = Math.max(longest, answers[answers.length - 1]!.at - since);
  }
  return longest;
}

/** Around each action: how many issue answers were 503, how long after the kill the last one came, and the longest refusal. */
function unavailableWindows(): string[] {
  return done.map(({ name, at }, i) => {
    const until = done[i + 1]?.at ?? Infinity;
    const within = issueTimeline.filter((a) => a.at >= at && a.at < until);
    const refused = within.filter((a) => a.status === 503);
    if (refused.length === 0) return `${name}: no 503`;
    const last = refused[refused.length - 1]!.at;
    return `${name}: ${refused.length} answered 503, the last ${((last - at) / 1000).toFixed(1)} s after the kill; ` +
      `longest a coupon answered only 503: ${(longestRefusal(within) / 1000).toFixed(1)} s`;
  });
}

say('traffic stopped; waiting for the outbox to drain and the projections to catch up');
const runtime = await openRuntime(config, createLogger('error', 'chaos'));
const findings: string[] = [];
try {
  const settle = Date.now() + 180_000;
  for (;;) {
    let outbox = 0;
    for (let s = 0; s < config.admission.shards; s++) outbox += await runtime.redis.xlen(`{cp:${s}}:outbox`);
    const ends = await runtime.kafka.endOffsets(config.kafka.topic);
    const cps = await runtime.db.selectFrom('projection_checkpoint').selectAll().where('topic', '=', config.kafka.topic).execute();
    const lag = ['coupon', 'issued_coupon'].reduce((sum, name) =>
      sum + [...ends].reduce((n, [p, end]) => n + Number(end - BigInt(cps.find((c) => c.projection === name && c.partition_no === p)?.next_offset ?? 0)), 0), 0);
    if (outbox === 0 && lag === 0) break;
    if (Date.now() > settle) {
      findings.push(`did not settle: outbox ${outbox}, projection lag ${lag}`);
      break;
    }
    await sleep(500);
  }

  const issuedInLog = new Map<string, Set<string>>();
  await runtime.kafka.scan(config.kafka.topic, (batch) => {
    for (const m of batch.messages) {
      const e = parseCouponEvent(JSON.parse(m.value!));
      if (e.type === 'CouponIssued') issuedInLog.set(e.data.issuedCouponId, (issuedInLog.get(e.data.issuedCouponId) ?? new Set()).add(e.eventId));
    }
  });
  for (const id of answeredIssued) {
    const events = issuedInLog.get(id);
    if (!events) findings.push(`201 for ${id}, but no CouponIssued in the log`);
    else if (events.size !== 1) findings.push(`${id} was issued by ${events.size} different events`);
  }
  const report = await runAudit(logAndStores(runtime));
  if (!auditPassed(report)) findings.push(`audit: ${JSON.stringify({ violations: report.violations.slice(0, 5), readModels: report.readModelDifferences.slice(0, 5), redis: report.redisDifferences.slice(0, 5) })}`);
  const admittedUnanswered = [...issuedInLog.keys()].filter((id) => !answeredIssued.has(id)).length;
  if (counts.otherFivexx > 0) findings.push(`${counts.otherFivexx} answers were 5xx other than 503`);
  say(`\n${CLUSTER ? `cluster, ADMISSION_REPLICAS=${config.admission.replicas}` : 'single node'}; actions:`);
  for (const line of unavailableWindows()) say(`  ${line}`);
  say(`requests ${counts.requests}: issued (201) ${counts.issued}, used ${counts.used}, 409 ${counts.conflicts} ${JSON.stringify(conflictCodes)}, 503 ${counts.unavailable503}, ` +
    `other 5xx ${counts.otherFivexx}, unanswered ${counts.unanswered}; slowest issue answer ${(slowest / 1000).toFixed(1)} s`);
  say(`log: ${issuedInLog.size} issued coupons (${admittedUnanswered} admitted while their answer was lost), ${report.events} events, ` +
    `${report.duplicates} redelivered copies; audit ${auditPassed(report) ? 'passed' : 'FAILED'}`);
} finally {
  for (const p of running.values()) p.child.kill('SIGTERM');
  await Promise.all([...running.values()].map((p) => p.exited));
  await closeRuntime(runtime);
}
say(findings.length === 0 ? '\nchaos: nothing lost, nothing given twice, no 5xx but 503' : `\nchaos FAILED:\n  ${findings.join('\n  ')}`);
process.exit(findings.length === 0 ? 0 : 1);
