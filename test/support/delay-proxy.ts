import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A real TCP hop between a client and a server that can hold back the server's answers: a slow network
 * (or a stalled client) for one connection, while every other client talks to the server directly.
 */
export async function startDelayProxy(target: { host: string; port: number }) {
  let delayMs = 0;
  const sockets = new Set<Socket>();
  /** Answers held back, dropped when the proxy closes (a closed proxy keeps nothing waiting). */
  const held = new Set<NodeJS.Timeout>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      // Chunks keep their order: each waits at least as long as the one before it.
      const timer = setTimeout(() => {
        held.delete(timer);
        if (client.writable) client.write(chunk);
      }, delayMs);
      held.add(timer);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    delay: (ms: number) => void (delayMs = ms),
    close: () => new Promise<void>((resolve) => {
      for (const timer of held) clearTimeout(timer);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
