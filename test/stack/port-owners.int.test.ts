import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { CLUSTER_SERVICES } from '../../src/stack/cluster-services.ts';
import { PortTakenError, servicesDown } from '../../src/stack/port-owners.ts';
import { isPortOpen, waitFor } from '../../src/stack/process-control.ts';
import { LOCAL_SERVICES, type LocalService, type StackPorts } from '../../src/stack/services.ts';
import { freePort } from '../support/free-port.ts';
import { spec } from '../support/spec.ts';

/**
 * The check the local stack runs before it starts anything, on ports of this file's own (never the shared
 * stacks'): each server's ports are given here, and what holds them is a listener or a Redis this file opens.
 */
const owners = spec('a local server\'s ports held by something else are named, not waited on', () => mkdtempSync(join(tmpdir(), 'coupon-ports-')),
  (dir) => rmSync(dir, { recursive: true, force: true }));

const named = (name: string): LocalService => [...LOCAL_SERVICES, ...CLUSTER_SERVICES].find((s) => s.name === name)!;

function portsWith(overrides: Partial<StackPorts>): StackPorts {
  return { redis: 1, mysql: 1, kafka: 1, kafkaController: 1, redisCluster: [1], kafkaCluster: [{ broker: 1, controller: 1 }], ...overrides };
}

async function plainListener(port?: number): Promise<Server & { port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port ?? 0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as { port: number }).port });
}

/** A port that is free, and one 100 above it (a cluster node's bus) held by a plain listener. */
async function freeWithBusHeld(): Promise<{ client: number; bus: Server & { port: number } }> {
  for (let attempt = 0; ; attempt++) {
    const client = await freePort();
    try {
      return { client, bus: await plainListener(client + 100) };
    } catch (error) {
      if (attempt > 20) throw error;
    }
  }
}

const refusal = async (attempt: Promise<unknown>): Promise<string> => {
  try {
    await attempt;
  } catch (error) {
    assert.instance(error, PortTakenError, String(error));
    return (error as Error).message;
  }
  assert.unreachable('the start was not refused');
  return '';
};

owners('a plain listener on a server\'s client port: the start is refused naming the port, the server, and the pid and command of what holds it', async (dir) => {
  const squatter = await plainListener();
  try {
    const message = await refusal(servicesDown([named('redis')], portsWith({ redis: squatter.port }), dir, 'test'));
    assert.match(message, `port ${squatter.port} (redis's client port) is taken by pid ${process.pid} (`);
    assert.match(message, /\(\S*node\b/, `names the program: ${message}`);
  } finally {
    squatter.close();
  }
});

owners('a cluster node whose client port is free and whose bus port is held: the bus port is named (what made the test cluster time out)', async (dir) => {
  const { client, bus } = await freeWithBusHeld();
  try {
    const message = await refusal(servicesDown([named('redis-1')], portsWith({ redisCluster: [client] }), dir, 'test'));
    assert.match(message, `port ${bus.port} (redis-1's cluster bus port) is taken by pid ${process.pid}`);
    assert.not.match(message, `port ${client} `);
  } finally {
    bus.close();
  }
});

owners('a Redis Cluster node on its client and bus ports counts as up, servers with free ports are to start, a Kafka controller port held is named', async (dir) => {
  const { client, bus } = await freeWithBusHeld();
  bus.close();
  const node = spawn('redis-server', ['--port', String(client), '--cluster-port', String(client + 100), '--cluster-enabled', 'yes', '--bind', '127.0.0.1',
    '--dir', dir, '--cluster-config-file', 'nodes.conf', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const controller = await plainListener();
  try {
    await waitFor('own cluster node', async () => (await isPortOpen(client)) && isPortOpen(client + 100), 15_000);
    const free = await freePort();
    const ports = portsWith({ redisCluster: [client], kafka: free, kafkaController: await freePort() });
    assert.equal((await servicesDown([named('redis-1'), named('kafka')], ports, dir, 'test')).map((s) => s.name), ['kafka']);
    const message = await refusal(servicesDown([named('redis-1'), named('kafka')], { ...ports, kafkaController: controller.port }, dir, 'test'));
    assert.match(message, `port ${controller.port} (kafka's controller port) is taken by pid ${process.pid}`);
    assert.not.match(message, 'redis-1');
  } finally {
    controller.close();
    node.kill('SIGKILL');
  }
});

owners.run();
