import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureKafkaJars, ensureServerBinaries } from './prerequisites.ts';
import { isPortOpen, readPid, stopPid, isAlive } from './process-control.ts';
import { LOCAL_SERVICES, MYSQL_DATABASE, MYSQL_PASSWORD, MYSQL_USER, pidFileOf, type LocalService, type StackPorts } from './services.ts';

/** `dev` serves `npm start`, `test` serves `npm test`: separate ports and data, so tests never touch dev data. */
export type StackProfile = 'dev' | 'test';
export type ServiceName = LocalService['name'];

const PORTS: Record<StackProfile, StackPorts> = {
  dev: { redis: 16379, mysql: 13306, kafka: 19092, kafkaController: 19093 },
  test: { redis: 26379, mysql: 23306, kafka: 29092, kafkaController: 29093 },
};

export interface StackEndpoints {
  redisUrl: string;
  mysqlUrl: string;
  kafkaBrokers: string[];
}

export function localEndpoints(profile: StackProfile): StackEndpoints {
  const p = PORTS[profile];
  return {
    redisUrl: `redis://127.0.0.1:${p.redis}`,
    mysqlUrl: `mysql://${MYSQL_USER}:${MYSQL_PASSWORD}@127.0.0.1:${p.mysql}/${MYSQL_DATABASE}`,
    kafkaBrokers: [`127.0.0.1:${p.kafka}`],
  };
}

const profileDir = (root: string, profile: StackProfile) => join(resolve(root), profile);

/**
 * Brings up the named services of a profile, reusing any that already answer on their port.
 * Binaries and Kafka jars are installed only when a service actually has to be started.
 */
export async function ensureLocalStack(
  root: string,
  profile: StackProfile,
  log: (line: string) => void,
  only: ServiceName[] = LOCAL_SERVICES.map((s) => s.name),
): Promise<StackEndpoints> {
  const dir = profileDir(root, profile);
  const ports = PORTS[profile];
  const down: LocalService[] = [];
  for (const service of LOCAL_SERVICES.filter((s) => only.includes(s.name))) {
    if (!(await isPortOpen(service.port(ports)))) down.push(service);
  }
  if (down.length > 0) {
    ensureServerBinaries(log);
    mkdirSync(dir, { recursive: true });
    const kafkaLibs = down.some((s) => s.name === 'kafka') ? ensureKafkaJars(resolve(root), log) : '';
    await Promise.all(
      down.map(async (service) => {
        const started = Date.now();
        await service.start({ dir, ports, kafkaLibs });
        log(`${service.name} (${profile}) up on port ${service.port(ports)} in ${Date.now() - started} ms`);
      }),
    );
  }
  return localEndpoints(profile);
}

export async function stopLocalService(root: string, profile: StackProfile, name: ServiceName): Promise<boolean> {
  return stopPid(pidFileOf(profileDir(root, profile), name), 30_000);
}

export async function stopLocalStack(root: string, log: (line: string) => void): Promise<void> {
  for (const profile of Object.keys(PORTS) as StackProfile[]) {
    for (const service of LOCAL_SERVICES) {
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
  return LOCAL_SERVICES.filter((s) => {
    const pid = readPid(pidFileOf(profileDir(root, profile), s.name));
    return pid !== undefined && isAlive(pid);
  }).map((s) => s.name);
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
