import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type ResolvedConfig } from '../../src/config/config.ts';
import { recreateDatabase } from '../../src/db/recreate-database.ts';
import { createLogger } from '../../src/log/logger.ts';
import { flushEveryNode } from '../../src/redis/redis-client.ts';
import { closeRuntime, openRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { ensureLocalStack, stopLocalService, type StackTopology } from '../../src/stack/local-stack.ts';
import { spawnApp, type AppProcess } from '../support/app-process.ts';
import { freePort } from '../support/free-port.ts';

/**
 * The history run's own stack (the `history` profile: its faults touch nobody else) and the processes under
 * test: three API processes, two relays (the second takes over the shards of one that stalls past its lease),
 * one projector. Short timeouts, so faults turn into unknown outcomes rather than slow answers.
 */
export const TIMEOUTS = { redisCommandMs: 400, admissionRetryMs: 1_500, relayLeaseMs: 1_500 };

export async function historyEnv(topology: StackTopology, say: (line: string) => void): Promise<Record<string, string>> {
  const { stackDir } = loadConfig();
  const endpoints = await ensureLocalStack(stackDir, 'history', (l) => say(`stack: ${l}`), undefined, topology);
  return {
    ...(endpoints.redisClusterNodes ? { REDIS_CLUSTER_NODES: endpoints.redisClusterNodes.join(',') } : { REDIS_URL: endpoints.redisUrl }),
    STACK_TOPOLOGY: topology,
    MYSQL_URL: await recreateDatabase(endpoints.mysqlUrl, 'coupon_history'),
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC: 'history.coupon.events',
    JWT_SECRET: 'history-secret-that-is-at-least-32-characters-long',
    LOG_LEVEL: 'error',
    REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUTS.redisCommandMs),
    ADMISSION_RETRY_MS: String(TIMEOUTS.admissionRetryMs),
    RELAY_LEASE_MS: String(TIMEOUTS.relayLeaseMs),
    // A relay's batch waits this long for more entries: a stall is likely to catch it between its lease renewal and its send.
    RELAY_LINGER_MS: '200',
    USER_LIMIT: '100000',
    // One outbox shard: a relay stopped while it renews its lease is then sure to hold the change it read.
    ADMISSION_SHARDS: '1',
    SHUTDOWN_TIMEOUT_MS: '3000',
  };
}

/** Opens the run's own clients on an emptied Redis and an absent topic. */
export async function freshRuntime(env: Record<string, string>): Promise<Runtime> {
  const config = loadConfig({ ...process.env, ...env }) as ResolvedConfig;
  const runtime = await openRuntime(config, createLogger('silent', 'history'));
  await flushEveryNode(runtime.redis);
  await runtime.kafka.deleteTopics([config.kafka.topic]);
  return runtime;
}

/** One process of the fleet, and how to start it again. */
export interface Slot {
  role: 'api' | 'relay' | 'projector';
  env: Record<string, string>;
  process: AppProcess;
  /** Set while a fault takes it down on purpose: the supervisor leaves it to the fault. */
  downOnPurpose?: boolean;
}

export class Fleet {
  private stopping = false;
  /** What processes gone so far printed: their errors still explain the run. */
  private readonly gone: string[] = [];
  /** Processes that exited on their own and were started again, by role. */
  readonly restarted: string[] = [];

  readonly apis: (Slot & { port: number })[];
  readonly relays: Slot[];
  readonly projector: Slot;

  private constructor(apis: (Slot & { port: number })[], relays: Slot[], projector: Slot) {
    this.apis = apis;
    this.relays = relays;
    this.projector = projector;
    for (const slot of [...apis, ...relays, projector]) this.supervise(slot);
  }

  /** The first API migrates and creates the topic; the rest start together after it. */
  static async start(env: Record<string, string>): Promise<Fleet> {
    const slot = async (role: Slot['role'], extra: Record<string, string>) => {
      const own = { ...env, ROLES: role, PORT: '0', ...extra };
      return { role, env: own, process: await spawnApp(own, 120_000) };
    };
    const ports = [await freePort(), await freePort(), await freePort()];
    const api = async (port: number) => ({ ...(await slot('api', { PORT: String(port) })), port });
    const first = await api(ports[0]!);
    // A relay resumed after a stall finishes the lease renewal it was waiting on instead of timing it out.
    const relay = () => slot('relay', { REDIS_COMMAND_TIMEOUT_MS: '10000' });
    const [second, third, relayA, relayB, projector] = await Promise.all([api(ports[1]!), api(ports[2]!), relay(), relay(), slot('projector', {})]);
    return new Fleet([first, second, third], [relayA, relayB], projector);
  }

  urls(): string[] {
    return this.apis.map((a) => `http://127.0.0.1:${a.port}`);
  }

  /** As a supervisor does: a process that exits on its own (a role that stopped for good) is started again. */
  private supervise(slot: Slot): void {
    void slot.process.exited.then(async () => {
      if (this.stopping || slot.downOnPurpose) return;
      this.gone.push(slot.process.output());
      this.restarted.push(slot.role);
      for (;;) {
        await sleep(500);
        if (this.stopping) return;
        try {
          slot.process = await spawnApp(slot.env, 120_000);
          break;
        } catch (error) {
          this.gone.push((error as Error).message);
        }
      }
      this.supervise(slot);
    });
  }

  /** kill -9 one API process and start it again on its port, as a supervisor would. */
  async crashApi(index: number): Promise<void> {
    const api = this.apis[index]!;
    api.downOnPurpose = true;
    api.process.child.kill('SIGKILL');
    await api.process.exited;
    this.gone.push(api.process.output());
    api.process = await spawnApp(api.env, 120_000);
    api.downOnPurpose = false;
    this.supervise(api);
  }

  /** The error and fatal lines every process logged (LOG_LEVEL=error), but kafkajs's own about brokers a fault took away. */
  errors(): string[] {
    const outputs = [...this.gone, ...[...this.apis, ...this.relays, this.projector].map((s) => s.process.output())];
    return outputs.flatMap((out) => out.split('\n')).filter((line) => /"level":(50|60)/.test(line) && !line.includes('"component":"kafkajs"'));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.apis, ...this.relays, this.projector].map((s) => s.process);
    for (const p of all) p.child.kill('SIGCONT');
    await Promise.all(all.map((p) => p.stop(5_000)));
  }
}

/** Stops one Kafka broker of the history stack and starts it again (a restart, not a crash). */
export async function restartBroker(topology: StackTopology, name: string): Promise<void> {
  const { stackDir } = loadConfig();
  if (!(await stopLocalService(stackDir, 'history', name))) throw new Error(`${name} was not running under the history stack`);
  await ensureLocalStack(stackDir, 'history', () => undefined, ['kafka'], topology);
}

export { closeRuntime };
