import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { shardKeys } from '../../src/outbox/outbox.ts';
import { shardOf } from '../../src/ids/ids.ts';
import { AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { masterNodes } from '../../src/redis/redis-client.ts';
import { logAndStores, type Runtime } from '../../src/runtime/runtime.ts';
import type { StackTopology } from '../../src/stack/local-stack.ts';
import { runCli } from '../support/app-process.ts';
import { restartBroker, TIMEOUTS, type Fleet, type Slot } from './fleet.ts';
import { ADMIN, attempt, USERS, type Belief, type Send } from './workload.ts';

export interface FaultDeps {
  fleet: Fleet;
  runtime: Runtime;
  env: Record<string, string>;
  send: Send;
  belief: Belief;
  topology: StackTopology;
  rng: () => number;
}

export interface Injected {
  name: string;
  at: number;
  detail: string;
}

interface Fault {
  name: string;
  /** About how long it takes, so a short run schedules only what fits. */
  takesMs: number;
  run(d: FaultDeps): Promise<string>;
}

const between = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pauseRedis = (d: FaultDeps, ms: number, mode: 'ALL' | 'WRITE') =>
  Promise.all(masterNodes(d.runtime.redis).map((node) => node.call('CLIENT', 'PAUSE', String(ms), mode)));

/** Coupons the read model knows (a restore of a lost coupon looks it up there first): the open ones, or any. */
async function knownCoupons(d: FaultDeps, open: boolean): Promise<string[]> {
  const candidates = d.belief.coupons.filter((c) => !open || !c.closed).map((c) => c.id);
  if (candidates.length === 0) return [];
  return (await d.runtime.db.selectFrom('coupon').select('id').where('id', 'in', candidates).execute()).map((r) => r.id);
}

/**
 * The coupons' admission keys (not the outbox) deleted, then two restores at once, racing each other and the
 * APIs' own restores on a miss; now and then the restore-admission CLI as well.
 */
async function loseAndRestore(d: FaultDeps, couponIds: string[]): Promise<string> {
  const shards = d.runtime.config.admission.shards;
  await Promise.all(couponIds.map((id) => {
    const k = couponKeys(id, shards);
    return d.runtime.redis.del(k.coupon, k.holders, k.used, ...k.allowLists);
  }));
  const restores = [0, 1].map(() => new AdmissionRecovery(logAndStores(d.runtime)).restore(couponIds).then((w) => w.length, (e: Error) => e.message));
  const args = couponIds.flatMap((id) => ['--coupon', id]);
  const cli = d.rng() < 0.3 ? runCli('restore-admission', args, d.env).then((r) => `CLI exit ${r.code}`) : undefined;
  const outcomes = [...(await Promise.all(restores)), ...(cli ? [await cli] : [])];
  return `keys of ${couponIds.length} coupon(s) deleted (${couponIds.map((id) => id.slice(0, 13)).join(', ')}), restores raced the APIs' (wrote: ${outcomes.join(', ')})`;
}

const redisPause: Fault = {
  name: 'redis-pause',
  takesMs: 3_000,
  async run(d) {
    const ms = between(d.rng, 2 * TIMEOUTS.redisCommandMs, TIMEOUTS.admissionRetryMs + 1_000);
    await pauseRedis(d, ms, 'ALL');
    await sleep(ms + 200);
    return `CLIENT PAUSE ${ms} ALL`;
  },
};

const apiCrash: Fault = {
  name: 'api-kill',
  takesMs: 5_000,
  async run(d) {
    const index = between(d.rng, 0, d.fleet.apis.length - 1);
    await d.fleet.crashApi(index);
    return `API ${index} killed (SIGKILL) and started again`;
  },
};

const restoreRace: Fault = {
  name: 'restore-race',
  takesMs: 3_000,
  async run(d) {
    const open = await knownCoupons(d, true);
    if (open.length === 0) return 'skipped: no open coupon the read model knows yet';
    if (d.rng() < 0.2) return `restore-admission of the live ${open[0]}: ${(await runCli('restore-admission', ['--coupon', open[0]!], d.env)).output.trim()}`;
    return loseAndRestore(d, open);
  },
};

/** The local ports of a process's TCP connections: how Redis's CLIENT LIST names its clients (addr=ip:port). */
function localPorts(pid: number): Set<number> {
  const sockets = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
    } catch {
      return undefined; // closed while listed
    }
  }));
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/))) {
      if (row.length > 9 && sockets.has(row[9])) ports.add(parseInt(row[1]!.split(':').pop()!, 16));
    }
  }
  return ports;
}

/**
 * Pauses Redis's writes for a moment and says whether the relay is then waiting on its lease renewal: one
 * short script and nothing queued behind it (a lease refresh queues one script per shard; the delete after a
 * send carries the entry ids). Reads the relay's own scripts' sizes, so a change to them makes this miss, not lie.
 */
async function waitingOnRenewal(d: FaultDeps, pid: number): Promise<boolean> {
  const ports = localPorts(pid);
  await pauseRedis(d, 300, 'WRITE');
  await sleep(150);
  const clients = (await Promise.all(masterNodes(d.runtime.redis).map((node) => node.call('CLIENT', 'LIST') as Promise<string>))).join('\n').split('\n');
  return clients.filter((line) => ports.has(Number(/ addr=\S*:(\d+) /.exec(line)?.[1])))
    .some((line) => / flags=\S*b/.test(line) && / qbuf=0 /.test(line) && Number(/ argv-mem=(\d+)/.exec(line)?.[1]) < 300);
}

/**
 * The relay holding a coupon's shard stalls past its lease right after renewing it, with an admin change read
 * and not yet sent: it is stopped while its renewal waits behind Redis paused for writes (tried a few times,
 * and stopped anyway at the last try). The other relay takes the shard and sends that change and a newer one;
 * resumed, the stalled relay finishes its renewal (the relays' command timeout is long) and lands its old copy
 * after the newer change. Then the coupon is lost and restored from the log, copies and all.
 */
const relayStall: Fault = {
  name: 'relay-stall',
  takesMs: 9_000,
  async run(d) {
    const open = await knownCoupons(d, true);
    const couponId = open[Math.floor(d.rng() * open.length)];
    if (!couponId) return 'skipped: no open coupon the read model knows yet';
    const lease = await d.runtime.redis.get(shardKeys(shardOf(couponId, d.runtime.config.admission.shards)).relayLease);
    const pid = Number(/:(\d+):[^:]+\/\d+$/.exec(lease ?? '')?.[1]);
    const relay = (d.fleet.relays.find((r) => r.process.child.pid === pid) ?? d.fleet.relays[0]!).process;
    // The newer change brings stock too, so what the coupon admits after the restore shows which list and window it holds.
    const change = (endsInMs: number, add?: number) => Promise.all([
      attempt(d.send, d.rng, 'fault', 'window', couponId, ADMIN, { issueEndAt: new Date(Date.now() + endsInMs).toISOString() }),
      attempt(d.send, d.rng, 'fault', 'allow-list', couponId, ADMIN, { userIds: [...USERS] }),
      ...(add ? [attempt(d.send, d.rng, 'fault', 'stock', couponId, ADMIN, { add })] : []),
    ]);
    let tries = 0;
    for (let caught = false; !caught && tries < 6; tries++) {
      await change(6_000);
      caught = await waitingOnRenewal(d, relay.child.pid!);
      if (!caught) await sleep(250);
    }
    relay.child.kill('SIGSTOP');
    try {
      await sleep(TIMEOUTS.relayLeaseMs * 1.7);
      await change(3_600_000, 4);
      await sleep(600);
    } finally {
      relay.child.kill('SIGCONT');
    }
    await sleep(400);
    return `relay ${relay.child.pid} stopped at try ${tries} for ${(TIMEOUTS.relayLeaseMs * 1.7 + 600) / 1000} s; then ${await loseAndRestore(d, [couponId])}`;
  },
};

/**
 * Stock added one at a time into a sell-out storm: each addition reopens the coupon (every API process forgets
 * what it remembered of it) and is sold out again at once, while askers without an Idempotency-Key (the ones
 * answered from memory) keep asking on every API process, and one API process stalls again and again for a few
 * tens of milliseconds (as a GC pause or a starved CPU stalls it), so what it learns arrives late and out of
 * step. Afterwards every user asks every API process once more: what one remembers wrongly is answered then.
 */
const reopenStorm: Fault = {
  name: 'reopen-storm',
  takesMs: 4_000,
  async run(d) {
    const open = await knownCoupons(d, true);
    const couponId = open[Math.floor(d.rng() * open.length)];
    if (!couponId) return 'skipped: no open coupon';
    const until = Date.now() + 2_500;
    const ask = async (client: string, userId: string, api?: number) => d.belief.learn(await d.send(client, 'issue', couponId, { userId, role: 'user' }, {}, undefined, 4_000, api));
    const asker = async (i: number) => {
      while (Date.now() < until) await ask(`storm${i}`, USERS[between(d.rng, 0, USERS.length - 1)]!);
    };
    let added = 0;
    const restock = async () => {
      for (; Date.now() < until; added++) {
        await d.send('storm', 'stock', couponId, ADMIN, { add: 1 }, undefined, 4_000);
        await sleep(between(d.rng, 30, 90));
      }
    };
    const stalled = between(d.rng, 0, d.fleet.apis.length - 1);
    const stall = async (api: Slot) => {
      while (Date.now() < until) {
        const child = api.process.child;
        child.kill('SIGSTOP');
        await sleep(between(d.rng, 20, 60));
        child.kill('SIGCONT');
        await sleep(between(d.rng, 20, 80));
      }
    };
    await Promise.all([restock(), stall(d.fleet.apis[stalled]!), ...Array.from({ length: 8 }, (_, i) => asker(i))]);
    await Promise.all(d.fleet.apis.map((_, api) => Promise.all(USERS.map((userId) => ask(`after${api}`, userId, api)))));
    return `${added} additions of 1 to ${couponId} while 8 askers without a key asked and API ${stalled} stalled again and again`;
  },
};

const brokerRestart: Fault = {
  name: 'kafka-restart',
  takesMs: 9_000,
  async run(d) {
    const broker = d.topology === 'cluster' ? `kafka-${between(d.rng, 1, 3)}` : 'kafka';
    const started = Date.now();
    await restartBroker(d.topology, broker);
    return `${broker} stopped and started again in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  },
};

const FAULTS = [redisPause, apiCrash, restoreRace, relayStall, brokerRestart, reopenStorm];

/** Faults one after another, each kind in turn (a seeded order), the kind run least so far first, while one fits before `until`. */
export async function injectFaults(d: FaultDeps, until: number, say: (line: string) => void): Promise<Injected[]> {
  const order = [...FAULTS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(d.rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const runs = new Map(order.map((f) => [f.name, 0]));
  const done: Injected[] = [];
  for (;;) {
    await sleep(between(d.rng, 1_000, 2_000));
    const fits = order.filter((f) => Date.now() + f.takesMs < until);
    const fault = fits.sort((a, b) => runs.get(a.name)! - runs.get(b.name)!)[0];
    if (!fault) return done;
    runs.set(fault.name, runs.get(fault.name)! + 1);
    const at = Date.now();
    const detail = await fault.run(d);
    done.push({ name: fault.name, at, detail });
    say(`  ${new Date(at).toISOString()} ${fault.name}: ${detail}`);
  }
}
