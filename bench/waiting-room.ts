/**
 * `npm run bench:waiting-room`: what a waiting room costs per person. On a private redis-server (the stack's
 * persistence flags), N people are issued a coupon that opens directly, then N others go through a waiting room:
 * they join before the start, the room shuffles and grants every pass, each reads their ticket once, and each
 * claims with their pass. `INFO commandstats` gives each phase's script calls and Redis µs; the claim's round
 * trip is timed client-side for both coupons, and the pass's signing and checking (HMAC, in the API process) on
 * its own. Printed as a table and a closing line.
 */
import '../src/runtime/pinned-node.ts';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { AdmissionStore } from '../src/coupons/admission/admission-store.ts';
import { QueuePasses } from '../src/coupons/queue/queue-passes.ts';
import { internalRequest } from '../src/idempotency/admission-request.ts';
import { uuidv7 } from '../src/ids/ids.ts';
import { privateRedis } from './script-cost.ts';

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 5_000);
const IN_FLIGHT = 50;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function scriptStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  let calls = 0;
  let usec = 0;
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) [calls, usec] = [calls + Number(match[2]), usec + Number(match[3])];
  }
  return { calls, usec };
}

/** Runs `task` for 0..total-1, IN_FLIGHT at a time; answers each call's round trip in ms. */
async function timed(total: number, task: (i: number) => Promise<unknown>): Promise<number[]> {
  const took: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    for (let i = next++; i < total; i = next++) {
      const started = performance.now();
      await task(i);
      took.push(performance.now() - started);
    }
  }));
  return took;
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.floor(values.length * q)]!;

async function phase(redis: Redis, name: string, run: () => Promise<unknown>): Promise<{ name: string; calls: number; usec: number }> {
  await redis.config('RESETSTAT');
  await run();
  return { name, ...(await scriptStats(redis)) };
}

const server = await privateRedis();
const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
try {
  const store = new AdmissionStore(redis, { shards: 1, retryMs: 5_000, outboxMaxEntries: 100_000_000, userLimit: { requests: 1_000, windowMs: 60_000 } });
  const now = Date.now();
  const definition = (start: number, queue: boolean) => ({
    name: 'Waiting room cost', totalQuantity: PEOPLE, discount: { type: 'PERCENT' as const, value: 10 },
    issueStartAt: new Date(start).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
    validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
    ...(queue ? { opening: { mode: 'queue' as const, admitPerSecond: 10_000, passTtlSeconds: 600 } } : {}),
  });
  const direct = uuidv7();
  await store.create(direct, uuidv7(), definition(now - 60_000, false), {}, internalRequest());
  let directClaims: number[] = [];
  const directPhase = await phase(redis, 'claim (direct coupon)', async () => {
    directClaims = await timed(PEOPLE, (i) => store.issue(direct, `direct-${i}`, uuidv7(), {}, internalRequest()));
  });

  const start = Date.now() + 60_000;
  const queued = uuidv7();
  await store.create(queued, uuidv7(), definition(start, true), {}, internalRequest());
  const phases = [directPhase];
  phases.push(await phase(redis, 'join (before the start)', () => timed(PEOPLE, (i) => store.queueJoin(queued, `waiting-${i}`, {}, '', '{}'))));
  // The start moved to now, as an admin may: the room shuffles and grants at once.
  await store.changeWindow(queued, { issueStartAt: new Date(Date.now() + 100).toISOString() }, uuidv7(), {}, internalRequest());
  await new Promise((r) => setTimeout(r, 200));
  phases.push(await phase(redis, 'shuffle and grants (the room\'s steps)', async () => {
    for (let head = 0; head < PEOPLE;) {
      await store.queueStep(queued, 2_000);
      const read = await store.queueRead(queued);
      if (typeof read === 'string') throw new Error(read);
      head = read.room.head;
    }
  }));
  const passes = new Map<number, number>();
  phases.push(await phase(redis, 'ticket read (GET …/queue/me, once)', () => timed(PEOPLE, async (i) => {
    const read = await store.queueRead(queued, { userId: `waiting-${i}`, claims: '{}' });
    if (typeof read === 'string' || read.standing?.passUntil === undefined) throw new Error(`waiting-${i} has no pass`);
    passes.set(i, read.standing.passUntil);
  })));
  let queueClaims: number[] = [];
  phases.push(await phase(redis, 'claim with a pass', async () => {
    queueClaims = await timed(PEOPLE, (i) => store.issue(queued, `waiting-${i}`, uuidv7(), {}, internalRequest(), '{}', '', { person: `waiting-${i}`, expiresAtMs: Date.now() + 600_000 }));
  }));
  const issued = Number(await redis.hlen(`{cp:0}:h:${queued}`));
  if (issued !== PEOPLE) throw new Error(`${issued} of ${PEOPLE} issued through the room`);

  const signer = new QueuePasses('x'.repeat(32), false);
  const tokens = [...passes].map(([i, until]) => signer.sign(queued, `waiting-${i}`, until));
  const hmacStarted = performance.now();
  for (const [i, token] of tokens.entries()) if (!signer.read(token, queued)) throw new Error(`pass ${i} unread`);
  const verifyUs = ((performance.now() - hmacStarted) * 1000) / tokens.length;

  say(`\n${PEOPLE} people, each: a direct coupon's claim, or a waiting room's join, one ticket read, their share of the steps, a claim with a pass`);
  say('| phase | script calls per person | Redis µs per person |');
  say('|---|---:|---:|');
  for (const p of phases) say(`| ${p.name} | ${(p.calls / PEOPLE).toFixed(2)} | ${(p.usec / PEOPLE).toFixed(2)} |`);
  const room = phases.slice(1);
  const roomCalls = room.reduce((s, p) => s + p.calls, 0) / PEOPLE;
  const roomUsec = room.reduce((s, p) => s + p.usec, 0) / PEOPLE;
  say(`| **waiting room, in all** | ${roomCalls.toFixed(2)} | ${roomUsec.toFixed(2)} |`);
  say(`\nclaim round trip (${IN_FLIGHT} in flight): direct p50 ${quantile(directClaims, 0.5).toFixed(2)} ms p99 ${quantile(directClaims, 0.99).toFixed(2)} ms; with a pass p50 ${quantile(queueClaims, 0.5).toFixed(2)} ms p99 ${quantile(queueClaims, 0.99).toFixed(2)} ms`);
  say(`pass check in the API (HMAC-SHA256 verify + JSON): ${verifyUs.toFixed(2)} µs per claim`);
  say(`direct_claim_usec=${(directPhase.usec / PEOPLE).toFixed(2)} pass_claim_usec=${(room.at(-1)!.usec / PEOPLE).toFixed(2)} room_calls_per_person=${roomCalls.toFixed(2)} room_usec_per_person=${roomUsec.toFixed(2)}`);
} finally {
  redis.disconnect();
  server.stop();
}
process.exit(0);
