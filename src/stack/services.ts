import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPortOpen, runOrThrow, spawnDetached, waitFor } from './process-control.ts';

export interface StackPorts {
  redis: number;
  mysql: number;
  kafka: number;
  kafkaController: number;
  /** The cluster topology's Redis nodes (three masters, then their replicas once the cluster forms). */
  redisCluster: number[];
  kafkaCluster: { broker: number; controller: number }[];
}

export interface ServiceContext {
  dir: string;
  ports: StackPorts;
  kafkaLibs: string;
}

/** What a service is part of: a cluster topology runs several processes for one part. */
export type StackPart = 'redis' | 'mysql' | 'kafka';

/** A TCP port a server listens on, and what for (`client`, `cluster bus`, `controller`). */
export interface Listening {
  port: number;
  use: string;
}

export interface LocalService {
  name: string;
  part: StackPart;
  port(ports: StackPorts): number;
  /** Every port it listens on, its client port first: all must be free to start it. */
  listens(ports: StackPorts): Listening[];
  /** What the process holding its ports is called when it is this server (argv[0]'s name). */
  programs: readonly string[];
  /** Creates the data folder on first use and starts the server; returns its pid. */
  start(ctx: ServiceContext): Promise<number>;
}

const files = (dir: string) => ({ log: join(dir, 'server.log'), pid: join(dir, 'server.pid') });
const asRoot = () => process.getuid?.() === 0;

export const MYSQL_USER = 'coupon';
export const MYSQL_PASSWORD = 'coupon';
export const MYSQL_DATABASE = 'coupon';
/**
 * The cluster topology's read models: its Kafka is another log, so they live apart from the single topology's
 * on the same MariaDB (read models follow one log each; see followed-log.ts).
 */
export const MYSQL_CLUSTER_DATABASE = 'coupon_cluster';

const redis: LocalService = {
  name: 'redis',
  part: 'redis',
  port: (p) => p.redis,
  listens: (p) => [{ port: p.redis, use: 'client' }],
  programs: ['redis-server'],
  async start({ dir, ports }) {
    const home = join(dir, 'redis');
    mkdirSync(home, { recursive: true });
    // AOF with fsync every second: a killed process loses nothing (writes reach the OS before replies),
    // a power loss can cost the last second. README "Durability" says why this is the default.
    const pid = spawnDetached(
      'redis-server',
      ['--port', String(ports.redis), '--bind', '127.0.0.1', '--dir', home, '--appendonly', 'yes',
        '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--maxclients', '10000'],
      files(home),
    );
    await waitFor('redis', () => isPortOpen(ports.redis), 15_000, pid);
    return pid;
  },
};

const mysql: LocalService = {
  name: 'mysql',
  part: 'mysql',
  port: (p) => p.mysql,
  listens: (p) => [{ port: p.mysql, use: 'client' }],
  programs: ['mariadbd', 'mysqld'],
  async start({ dir, ports }) {
    const home = join(dir, 'mariadb');
    const data = join(home, 'data');
    mkdirSync(home, { recursive: true });
    const userFlag = asRoot() ? ['--user=root'] : [];
    if (!existsSync(join(data, 'mysql'))) {
      runOrThrow('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--skip-test-db', ...userFlag]);
    }
    // Runs on every start, so a wiped or hand-edited grant table heals itself.
    const init = join(home, 'init.sql');
    writeFileSync(
      init,
      `CREATE DATABASE IF NOT EXISTS ${MYSQL_DATABASE};
CREATE DATABASE IF NOT EXISTS ${MYSQL_CLUSTER_DATABASE};
CREATE USER IF NOT EXISTS '${MYSQL_USER}'@'127.0.0.1' IDENTIFIED BY '${MYSQL_PASSWORD}';
GRANT ALL ON *.* TO '${MYSQL_USER}'@'127.0.0.1';
`,
    );
    const pid = spawnDetached(
      'mariadbd',
      ['--no-defaults', `--datadir=${data}`, `--socket=${join(home, 'mysqld.sock')}`, `--port=${ports.mysql}`,
        '--bind-address=127.0.0.1', `--init-file=${init}`, `--pid-file=${join(home, 'mysqld.pid')}`,
        '--skip-name-resolve', '--max-connections=1000', '--innodb-buffer-pool-size=256M',
        '--character-set-server=utf8mb4', '--collation-server=utf8mb4_bin', '--default-time-zone=+00:00',
        ...userFlag],
      files(home),
    );
    await waitFor('mariadb', () => isPortOpen(ports.mysql), 30_000, pid);
    return pid;
  },
};

const kafka: LocalService = {
  name: 'kafka',
  part: 'kafka',
  port: (p) => p.kafka,
  listens: (p) => [{ port: p.kafka, use: 'client' }, { port: p.kafkaController, use: 'controller' }],
  programs: ['java'],
  async start({ dir, ports, kafkaLibs }) {
    const home = join(dir, 'kafka');
    const data = join(home, 'data');
    mkdirSync(home, { recursive: true });
    const properties = join(home, 'server.properties');
    writeFileSync(
      properties,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${ports.kafkaController}`,
        `listeners=PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.kafkaController}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${ports.kafka}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${data}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=6',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'auto.create.topics.enable=false',
        'group.initial.rebalance.delay.ms=0',
      ].join('\n') + '\n',
    );
    const classpath = `${kafkaLibs}/*`;
    if (!existsSync(join(data, 'meta.properties'))) {
      const clusterId = newKafkaClusterId();
      runOrThrow('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties]);
    }
    const log4j = kafkaLog4j(home);
    const pid = spawnDetached(
      'java',
      ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4j}`,
        '-cp', classpath, 'kafka.Kafka', properties],
      files(home),
    );
    await waitFor('kafka', () => isPortOpen(ports.kafka), 60_000, pid);
    return pid;
  },
};

/** Kafka's log4j settings in its folder: warnings, plus the lines that say it started. */
export function kafkaLog4j(home: string): string {
  const file = join(home, 'log4j.properties');
  writeFileSync(
    file,
    'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n' +
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n' +
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n' +
      'log4j.logger.kafka.server.KafkaServer=INFO\nlog4j.logger.kafka.server.KafkaRaftServer=INFO\n',
  );
  return file;
}

export const LOCAL_SERVICES: readonly LocalService[] = [redis, mysql, kafka];
export const serviceDir = (dir: string, name: string) => join(dir, name === 'mysql' ? 'mariadb' : name);
/**
 * A KRaft cluster id: 16 random bytes in base64url, never starting with '-' (the storage tool would read it as an
 * option; Kafka's own generator draws again in that case, and so does this). One fresh stack in 64 failed so.
 */
export function newKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export const pidFileOf = (dir: string, name: string) => files(serviceDir(dir, name)).pid;
