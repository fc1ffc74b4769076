import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config/config.ts';
import { CLUSTER_SERVICES } from '../../src/stack/cluster-services.ts';
import { PORTS } from '../../src/stack/local-stack.ts';
import { LOCAL_SERVICES } from '../../src/stack/services.ts';
import { spec } from '../support/spec.ts';

const plan = spec('the local stacks\' port plan');

/** Every port a local server listens on, in every profile, both topologies: `dev redis-1 cluster bus` → port. */
const planned = () => (Object.keys(PORTS) as (keyof typeof PORTS)[]).flatMap((profile) =>
  [...LOCAL_SERVICES, ...CLUSTER_SERVICES].flatMap((service) =>
    service.listens(PORTS[profile]).map(({ port, use }) => ({ who: `${profile} ${service.name} ${use}`, port }))));

plan('no two servers of any profile or topology listen on one port (client, cluster bus or controller)', () => {
  const byPort = new Map<number, string[]>();
  for (const { who, port } of planned()) byPort.set(port, [...(byPort.get(port) ?? []), who]);
  const shared = [...byPort].filter(([, who]) => who.length > 1).map(([port, who]) => `${port}: ${who.join(' and ')}`);
  assert.equal(shared, [], 'ports claimed twice');
  assert.ok(planned().length >= 2 * (3 + 6 * 2 + 3 * 2) + 2, 'every server of both profiles is in the plan, with its bus and controller ports');
});

plan('every Redis Cluster node has a bus port of its own, and none is where Redis would put it by default (client port + 10,000)', () => {
  const nodes = planned().filter((p) => /redis-\d (client|cluster bus)$/.test(p.who));
  const clients = new Set(nodes.filter((p) => p.who.endsWith('client')).map((p) => p.port));
  const buses = nodes.filter((p) => p.who.endsWith('cluster bus'));
  assert.is(buses.length, clients.size);
  for (const bus of buses) assert.not.ok(clients.has(bus.port - 10_000), `${bus.who} is on ${bus.port}, the default bus of client port ${bus.port - 10_000}`);
});

plan('the API\'s default port is no server\'s', () => {
  const api = loadConfig({}).http.port;
  assert.equal(planned().filter((p) => p.port === api), []);
});

plan.run();
