import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { isPortOpen, readPid, waitFor } from './process-control.ts';
import { pidFileOf, type LocalService, type StackPorts } from './services.ts';

/** The process listening on a port: its pid and command line, when this user may see them. */
export interface PortOwner {
  pid?: number;
  /** argv[0]'s name (`redis-server`, `java`, `node`); empty when the process is not visible. */
  program: string;
  command: string;
}

const LISTEN = '0A';

/** The inodes of listening TCP sockets (IPv4 and IPv6) on these ports, from /proc/net/tcp{,6}, as `ss -ltn` reads them. */
function listeningSockets(ports: ReadonlySet<number>): Map<string, number> {
  const sockets = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const port = parseInt(fields[1]?.split(':').pop() ?? '', 16);
      if (fields[3] === LISTEN && ports.has(port)) sockets.set(fields[9]!, port);
    }
  }
  return sockets;
}

function ownerOf(pid: number): PortOwner {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // Some servers rewrite argv[0] into a title ("redis-server 127.0.0.1:17001 [cluster]").
    return { pid, program: basename(argv[0]?.split(' ')[0] ?? ''), command: argv.join(' ').slice(0, 200) };
  } catch {
    return { pid, program: '', command: '' };
  }
}

/** Who listens on each of these ports now (ports nobody listens on are absent): the pid that holds the socket, as `ss -ltnp` tells. */
export function listenersOn(ports: readonly number[]): Map<number, PortOwner> {
  const sockets = listeningSockets(new Set(ports));
  const owners = new Map<number, PortOwner>();
  if (sockets.size === 0) return owners;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const port = sockets.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
      if (port !== undefined && !owners.has(port)) owners.set(port, ownerOf(Number(entry)));
    }
  }
  for (const port of sockets.values()) if (!owners.has(port)) owners.set(port, { program: '', command: '' });
  return owners;
}

export const describeOwner = (owner: PortOwner) =>
  owner.pid === undefined ? 'a process this user cannot see (run as its owner or root to name it)' : `pid ${owner.pid} (${owner.command || 'command line not readable'})`;

/** A port a local server needs is held by something else: starting would fail, or time out talking to the wrong server. */
export class PortTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortTakenError';
  }
}

/**
 * The services to start: those none of whose ports is held. A service counts as up when its client port is
 * held by a process of its own program that holds nothing else of its ports (one of ours being started is
 * waited for). Any other holder is named, with every port it takes, instead of a start that times out.
 */
export async function servicesDown(services: readonly LocalService[], ports: StackPorts, dir: string, profile: string): Promise<LocalService[]> {
  const owners = listenersOn(services.flatMap((s) => s.listens(ports).map((l) => l.port)));
  const down: LocalService[] = [];
  const taken: string[] = [];
  for (const service of services) {
    const listens = service.listens(ports);
    const held = listens.filter((l) => owners.has(l.port));
    if (held.length === 0) {
      down.push(service);
      continue;
    }
    const holders = new Set(held.map((l) => owners.get(l.port)!.pid));
    const owner = owners.get(held[0]!.port)!;
    const itself = holders.size === 1 && owner.pid !== undefined && service.programs.includes(owner.program);
    if (itself && owners.has(listens[0]!.port)) continue;
    if (itself && owner.pid === readPid(pidFileOf(dir, service.name))) {
      await waitFor(`${service.name} (${profile}), already starting`, () => isPortOpen(listens[0]!.port), 90_000, owner.pid);
      continue;
    }
    taken.push(...held.map((l) => `port ${l.port} (${service.name}'s ${l.use} port) is taken by ${describeOwner(owners.get(l.port)!)}`));
  }
  if (taken.length > 0) throw new PortTakenError(`the ${profile} stack cannot start: ${taken.join('; ')}`);
  return down;
}
