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

export class Fleet {
  private constructor(
    private readonly env: Record<string, string>,
    readonly apis: { port: number; process: AppProcess }[],
    readonly relays: AppProcess[],
    readonly projector: AppProcess,
  ) {}

  /** The first API migrates and creates the topic; the rest start together after it. */
  static async start(env: Record<string, string>): Promise<Fleet> {
    const spawn = (roles: string, port = 0) => spawnApp({ ...env, ROLES: roles, PORT: String(port) }, 120_000);
    // A relay resumed after a stall finishes the lease renewal it was waiting on instead of timing it out.
    const relay = () => spawnApp({ ...env, ROLES: 'relay', PORT: '0', REDIS_COMMAND_TIMEOUT_MS: '10000' }, 120_000);
    const ports = [await freePort(), await freePort(), await freePort()];
    const first = await spawn('api', ports[0]);
    const [second, third, relayA, relayB, projector] = await Promise.all([
      spawn('api', ports[1]), spawn('api', ports[2]), relay(), relay(), spawn('projector'),
    ]);
    const apis = [first, second!, third!].map((process, i) => ({ port: ports[i]!, process }));
    return new Fleet(env, apis, [relayA!, relayB!], projector!);
  }

  urls(): string[] {
    return this.apis.map((a) => `http://127.0.0.1:${a.port}`);
  }

  /** What processes killed so far printed: their errors still explain the run. */
  private readonly gone: string[] = [];

  /** kill -9 one API process and start it again on its port, as a supervisor would. */
  async crashApi(index: number): Promise<void> {
    const api = this.apis[index]!;
    api.process.child.kill('SIGKILL');
    await api.process.exited;
    this.gone.push(api.process.output());
    api.process = await spawnApp({ ...this.env, ROLES: 'api', PORT: String(api.port) }, 120_000);
  }

  /** The error and fatal lines every process logged (LOG_LEVEL=error), but kafkajs's own about brokers a fault took away. */
  errors(): string[] {
    const outputs = [...this.gone, ...this.apis.map((a) => a.process.output()), ...this.relays.map((r) => r.output()), this.projector.output()];
    return outputs.flatMap((out) => out.split('\n')).filter((line) => /"level":(50|60)/.test(line) && !line.includes('"component":"kafkajs"'));
  }

  async stop(): Promise<void> {
    const all = [...this.apis.map((a) => a.process), ...this.relays, this.projector];
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
