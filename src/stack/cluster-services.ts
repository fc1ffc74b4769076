import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPortOpen, runOrThrow, spawnDetached, waitFor } from './process-control.ts';
import { kafkaLog4j, newKafkaClusterId, type LocalService, type StackPorts } from './services.ts';

const files = (dir: string) => ({ log: join(dir, 'server.log'), pid: join(dir, 'server.pid') });

/**
 * A cluster node's bus port, set explicitly (`cluster-port`): Redis's default, the client port + 10,000, put
 * the dev cluster's bus (27001–27006) on the test cluster's client ports. +100 is free in every profile
 * (test/stack/port-plan.unit.test.ts).
 */
export const clusterBusPort = (port: number) => port + 100;

/**
 * Points every node a nodes.conf lists at its bus port. A cluster formed before `cluster-port` was set keeps each
 * node's old bus port there, and nodes restarted on the new ones would never reach each other again.
 */
export function moveBusPorts(nodesConf: string): void {
  if (!existsSync(nodesConf)) return;
  const text = readFileSync(nodesConf, 'utf8');
  const moved = text.replace(/(\d+\.\d+\.\d+\.\d+):(\d+)@\d+/g, (_, host: string, port: string) => `${host}:${port}@${clusterBusPort(Number(port))}`);
  if (moved !== text) writeFileSync(nodesConf, moved);
}

/** One Redis Cluster node: cluster mode, AOF every second like the single Redis. */
function redisNode(index: number): LocalService {
  return {
    name: `redis-${index + 1}`,
    part: 'redis',
    port: (p) => p.redisCluster[index]!,
    listens: (p) => [{ port: p.redisCluster[index]!, use: 'client' }, { port: clusterBusPort(p.redisCluster[index]!), use: 'cluster bus' }],
    programs: ['redis-server'],
    async start({ dir, ports }) {
      const home = join(dir, `redis-${index + 1}`);
      mkdirSync(home, { recursive: true });
      const port = ports.redisCluster[index]!;
      moveBusPorts(join(home, 'nodes.conf'));
      const pid = spawnDetached(
        'redis-server',
        ['--port', String(port), '--cluster-port', String(clusterBusPort(port)), '--bind', '127.0.0.1', '--dir', home, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', '3000', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no',
          '--maxclients', '10000', '--maxmemory-policy', 'noeviction'],
        files(home),
      );
      await waitFor(`redis-${index + 1}`, () => isPortOpen(port), 15_000, pid);
      return pid;
    },
  };
}

/** One Kafka 3.9 KRaft node, broker and controller, of a three-node quorum. */
function kafkaNode(index: number): LocalService {
  return {
    name: `kafka-${index + 1}`,
    part: 'kafka',
    port: (p) => p.kafkaCluster[index]!.broker,
    listens: (p) => [{ port: p.kafkaCluster[index]!.broker, use: 'client' }, { port: p.kafkaCluster[index]!.controller, use: 'controller' }],
    programs: ['java'],
    async start({ dir, ports, kafkaLibs }) {
      const home = join(dir, `kafka-${index + 1}`);
      const data = join(home, 'data');
      mkdirSync(home, { recursive: true });
      const { broker, controller } = ports.kafkaCluster[index]!;
      const voters = ports.kafkaCluster.map((n, i) => `${i + 1}@127.0.0.1:${n.controller}`).join(',');
      const properties = join(home, 'server.properties');
      writeFileSync(properties, [
        'process.roles=broker,controller',
        `node.id=${index + 1}`,
        `controller.quorum.voters=${voters}`,
        `listeners=PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${broker}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${data}`,
        'offsets.topic.replication.factor=3',
        'offsets.topic.num.partitions=6',
        'transaction.state.log.replication.factor=3',
        'transaction.state.log.min.isr=2',
        'default.replication.factor=3',
        'min.insync.replicas=2',
        'unclean.leader.election.enable=false',
        'auto.create.topics.enable=false',
        'group.initial.rebalance.delay.ms=0',
      ].join('\n') + '\n');
      const classpath = `${kafkaLibs}/*`;
      if (!existsSync(join(data, 'meta.properties'))) {
        // Every node of one cluster is formatted with the same cluster id, kept beside them.
        const idFile = join(dir, 'kafka-cluster-id');
        if (!existsSync(idFile)) writeFileSync(idFile, newKafkaClusterId());
        runOrThrow('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', readFileSync(idFile, 'utf8').trim(), '-c', properties]);
      }
      const pid = spawnDetached(
        'java',
        ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${kafkaLog4j(home)}`, '-cp', classpath, 'kafka.Kafka', properties],
        files(home),
      );
      await waitFor(`kafka-${index + 1}`, () => isPortOpen(broker), 90_000, pid);
      return pid;
    },
  };
}

export const REDIS_CLUSTER_NODES = 6;
export const KAFKA_CLUSTER_NODES = 3;
export const CLUSTER_SERVICES: readonly LocalService[] = [
  ...Array.from({ length: REDIS_CLUSTER_NODES }, (_, i) => redisNode(i)),
  ...Array.from({ length: KAFKA_CLUSTER_NODES }, (_, i) => kafkaNode(i)),
];

const clusterInfo = (port: number) => {
  try {
    return runOrThrow('redis-cli', ['-p', String(port), 'cluster', 'info']);
  } catch {
    return '';
  }
};

/**
 * Joins the six Redis nodes into a cluster of three masters with a replica each, once; then waits until
 * every node reports the cluster healthy (all 16,384 slots served).
 */
export async function formRedisCluster(ports: StackPorts, log: (line: string) => void): Promise<void> {
  const [first] = ports.redisCluster;
  if (/cluster_known_nodes:1\b/.test(clusterInfo(first!))) {
    runOrThrow('redis-cli', ['--cluster', 'create', ...ports.redisCluster.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    log(`redis cluster formed: ${ports.redisCluster.length / 2} masters, ${ports.redisCluster.length / 2} replicas`);
  }
  const deadline = Date.now() + 60_000;
  while (!ports.redisCluster.every((p) => /cluster_state:ok/.test(clusterInfo(p)))) {
    if (Date.now() > deadline) throw new Error(`redis cluster not healthy after 60 s:\n${clusterInfo(first!)}`);
    await sleep(200);
  }
  // Healthy is not yet redundant: a replica attaches and syncs after the slots are served, and until then a
  // master's writes have one copy (and ADMISSION_REPLICAS=1 refuses to start).
  while (!everyMasterReplicated(ports.redisCluster)) {
    if (Date.now() > deadline) throw new Error(`redis cluster masters without an online replica after 60 s:\n${ports.redisCluster.map(replication).join('\n')}`);
    await sleep(200);
  }
}

function replication(port: number): string {
  try {
    return runOrThrow('redis-cli', ['-p', String(port), 'info', 'replication']);
  } catch {
    return '';
  }
}

/** Every master the nodes report has a replica in state online. */
function everyMasterReplicated(ports: readonly number[]): boolean {
  const masters = ports.map(replication).filter((info) => /role:master/.test(info));
  return masters.length > 0 && masters.every((info) => /slave\d+:[^\n]*state=online/.test(info));
}
