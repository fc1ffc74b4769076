import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLUSTER_SERVICES, formRedisCluster } from './cluster-services.ts';
import { ensureKafkaJars, ensureServerBinaries } from './prerequisites.ts';
import { servicesDown } from './port-owners.ts';
import { readPid, stopPid, isAlive } from './process-control.ts';
import { LOCAL_SERVICES, MYSQL_CLUSTER_DATABASE, MYSQL_DATABASE, MYSQL_PASSWORD, MYSQL_USER, pidFileOf, type LocalService, type StackPart, type StackPorts } from './services.ts';

/**
 * `dev` serves `npm start`, `test` serves `npm test`: separate ports and data, so tests never touch dev data.
 * `history` serves `npm run test:history`, whose faults (a paused Redis, a restarted broker) touch nobody else.
 */
export type StackProfile = 'dev' | 'test' | 'history';
/** `single`: one Redis, one Kafka broker. `cluster`: a Redis Cluster (3 masters, 3 replicas) and 3 Kafka brokers. MariaDB is one server in both. */
export type StackTopology = 'single' | 'cluster';
export type ServiceName = string;

const cluster = (redisBase: number, kafkaBase: number) => ({
  redisCluster: Array.from({ length: 6 }, (_, i) => redisBase + i),
  kafkaCluster: Array.from({ length: 3 }, (_, i) => ({ broker: kafkaBase + 100 * i, controller: kafkaBase + 100 * i + 1 })),
});
export const PORTS: Record<StackProfile, StackPorts> = {
  dev: { redis: 16379, mysql: 13306, kafka: 19092, kafkaController: 19093, ...cluster(17001, 19192) },
  test: { redis: 26379, mysql: 23306, kafka: 29092, kafkaController: 29093, ...cluster(27001, 29192) },
  // Below Linux's ephemeral range (32768-60999): a port there may be some connection's own side, and taken.
  history: { redis: 31379, mysql: 31306, kafka: 31092, kafkaController: 31093, ...cluster(31001, 31192) },
};

export interface StackEndpoints {
  redisUrl: string;
  /** Set for the cluster topology: the Redis Cluster's nodes. */
  redisClusterNodes?: string[];
  mysqlUrl: string;
  kafkaBrokers: string[];
}

export function localEndpoints(profile: StackProfile, topology: StackTopology = 'single'): StackEndpoints {
  const p = PORTS[profile];
  const mysqlUrl = `mysql://${MYSQL_USER}:${MYSQL_PASSWORD}@127.0.0.1:${p.mysql}/${topology === 'cluster' ? MYSQL_CLUSTER_DATABASE : MYSQL_DATABASE}`;
  if (topology === 'cluster') {
    const redisClusterNodes = p.redisCluster.map((port) => `127.0.0.1:${port}`);
    return { redisUrl: `redis://${redisClusterNodes[0]}`, redisClusterNodes, mysqlUrl, kafkaBrokers: p.kafkaCluster.map((n) => `127.0.0.1:${n.broker}`) };
  }
  return { redisUrl: `redis://127.0.0.1:${p.redis}`, mysqlUrl, kafkaBrokers: [`127.0.0.1:${p.kafka}`] };
}

const servicesOf = (topology: StackTopology): readonly LocalService[] =>
  topology === 'cluster' ? [...LOCAL_SERVICES.filter((s) => s.part === 'mysql'), ...CLUSTER_SERVICES] : LOCAL_SERVICES;

const profileDir = (root: string, profile: StackProfile) => join(resolve(root), profile);

/**
 * Brings up the named services of a profile, reusing any that already run; a port held by anything else is
 * named with its process (port-owners.ts). Binaries and Kafka jars are installed only when a service actually has to be started.
 */
export async function ensureLocalStack(
  root: string,
  profile: StackProfile,
  log: (line: string) => void,
  only: StackPart[] = ['redis', 'mysql', 'kafka'],
  topology: StackTopology = 'single',
): Promise<StackEndpoints> {
  const dir = profileDir(root, profile);
  const ports = PORTS[profile];
  const down = await servicesDown(servicesOf(topology).filter((s) => only.includes(s.part)), ports, dir, profile);
  if (down.length > 0) {
    ensureServerBinaries(log);
    mkdirSync(dir, { recursive: true });
    const kafkaLibs = down.some((s) => s.part === 'kafka') ? ensureKafkaJars(resolve(root), log) : '';
    await Promise.all(
      down.map(async (service) => {
        const started = Date.now();
        await service.start({ dir, ports, kafkaLibs });
        log(`${service.name} (${profile}) up on port ${service.port(ports)} in ${Date.now() - started} ms`);
      }),
    );
  }
  if (topology === 'cluster' && only.includes('redis')) await formRedisCluster(ports, log);
  return localEndpoints(profile, topology);
}

export async function stopLocalService(root: string, profile: StackProfile, name: ServiceName): Promise<boolean> {
  return stopPid(pidFileOf(profileDir(root, profile), name), 30_000);
}

export async function stopLocalStack(root: string, log: (line: string) => void): Promise<void> {
  for (const profile of Object.keys(PORTS) as StackProfile[]) {
    for (const service of [...LOCAL_SERVICES, ...CLUSTER_SERVICES]) {
      if (await stopLocalService(root, profile, service.name)) log(`stopped ${service.name} (${profile})`);
    }
  }
}

export async function wipeLocalStack(root: string, log: (line: string) => void): Promise<void> {
  await stopLocalStack(root, log);
  for (const profile of Object.keys(PORTS) as StackProfile[]) rmSync(profileDir(root, profile), { recursive: true, force: true });
  log(`wiped ${resolve(root)} (the cached Kafka jars stay)`);
}

export function runningServices(root: string, profile: StackProfile): ServiceName[] {
  return [...LOCAL_SERVICES, ...CLUSTER_SERVICES].filter((s) => {
    const pid = readPid(pidFileOf(profileDir(root, profile), s.name));
    return pid !== undefined && isAlive(pid);
  }).map((s) => s.name);
}

/** Resident memory of the running servers of one profile and topology, from /proc. */
export function stackMemoryMb(root: string, profile: StackProfile, topology: StackTopology): number {
  let kb = 0;
  for (const service of servicesOf(topology)) {
    const pid = readPid(pidFileOf(profileDir(root, profile), service.name));
    if (pid === undefined || !isAlive(pid)) continue;
    kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  }
  return Math.round(kb / 1024);
}

/** A development signing key kept with the stack, so tokens survive restarts of `npm start`. */
export function devJwtSecret(root: string): string {
  const file = join(resolve(root), 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(resolve(root), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}
