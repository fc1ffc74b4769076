import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { CLUSTER_SERVICES, clusterBusPort, formRedisCluster, REDIS_CLUSTER_NODES } from '../../src/stack/cluster-services.ts';
import { isAlive, isPortOpen, readPid, waitFor } from '../../src/stack/process-control.ts';
import { listenersOn } from '../../src/stack/port-owners.ts';
import type { StackPorts } from '../../src/stack/services.ts';
import { freePort } from '../support/free-port.ts';
import { spec } from '../support/spec.ts';

/**
 * A Redis Cluster of this file's own (six nodes on free ports, never the shared stacks'), formed the way the
 * stack formed clusters before `cluster-port` was set, then restarted by the stack's own node services.
 */
interface OwnCluster {
  dir: string;
  ports: StackPorts;
}

/** Six client ports whose explicit bus ports (+100) and old default bus ports (+10,000) are free too. */
async function clientPorts(): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < REDIS_CLUSTER_NODES) {
    const port = await freePort();
    if (port + 10_000 > 65_535 || ports.some((p) => Math.abs(p - port) <= 100 || Math.abs(p + 10_000 - port) <= 100)) continue;
    if (listenersOn([clusterBusPort(port), port + 10_000]).size === 0) ports.push(port);
  }
  return ports;
}

const cli = (args: string[]) => spawnSync('redis-cli', args, { encoding: 'utf8' });

async function ownCluster(): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'coupon-cluster-bus-'));
  const redisCluster = await clientPorts();
  for (const [i, port] of redisCluster.entries()) {
    const home = join(dir, `redis-${i + 1}`);
    mkdirSync(home);
    spawnSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', home, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', '3000', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', join(home, 'old.pid')]);
    await waitFor(`old node ${port}`, () => isPortOpen(port), 15_000);
  }
  const created = cli(['--cluster', 'create', ...redisCluster.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
  assert.is(created.status, 0, created.stdout + created.stderr);
  return { dir, ports: { redis: 1, mysql: 1, kafka: 1, kafkaController: 1, redisCluster, kafkaCluster: [] } };
}

async function stopAll({ dir, ports }: OwnCluster): Promise<void> {
  for (const [i, port] of ports.redisCluster.entries()) {
    cli(['-p', String(port), 'shutdown', 'nosave']);
    for (const file of ['old.pid', 'server.pid']) {
      const pid = readPid(join(dir, `redis-${i + 1}`, file));
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
}

const bus = spec('Redis Cluster bus ports', ownCluster, async (cluster) => {
  await stopAll(cluster);
  rmSync(cluster.dir, { recursive: true, force: true });
});

bus('a cluster formed on the default bus ports (client + 10,000), restarted by the stack on its own bus ports, is healthy again', async (cluster) => {
  const { dir, ports } = cluster;
  await waitFor('the old cluster to be healthy', async () => /cluster_state:ok/.test(cli(['-p', String(ports.redisCluster[0]), 'cluster', 'info']).stdout), 30_000);
  assert.match(readFileSync(join(dir, 'redis-1', 'nodes.conf'), 'utf8'), `:${ports.redisCluster[0]}@${ports.redisCluster[0]! + 10_000} myself`);
  await stopAll(cluster);
  await waitFor('the old nodes to stop', async () => listenersOn(ports.redisCluster).size === 0, 15_000);

  const nodes = CLUSTER_SERVICES.filter((s) => s.part === 'redis');
  await Promise.all(nodes.map((node) => node.start({ dir, ports, kafkaLibs: '' })));
  const lines: string[] = [];
  await formRedisCluster(ports, (line) => lines.push(line));
  assert.equal(lines, [], 'joined as it was, not formed anew');
  // Restarted nodes answer ok at first from what they remember; nodes that cannot reach each other fail after the node timeout (3 s).
  await sleep(8_000);
  for (const port of ports.redisCluster) {
    assert.match(cli(['-p', String(port), 'cluster', 'info']).stdout, 'cluster_state:ok');
    const peers = cli(['-p', String(port), 'cluster', 'nodes']).stdout.trim().split('\n');
    assert.equal(peers.filter((line) => /fail|disconnected/.test(line)), [], `node ${port} reaches every other`);
  }
  for (const port of ports.redisCluster) {
    assert.equal(listenersOn([clusterBusPort(port)]).get(clusterBusPort(port))?.program, 'redis-server', `node ${port} listens on its bus port`);
    assert.equal(listenersOn([port + 10_000]).size, 0, `node ${port} left the default bus port`);
  }
});

bus.run();
