import { createHash } from 'node:crypto';

/** Where those who joined after the start stand: behind every place the shuffle can give, in ticket order. */
export const AFTER_START = 2 ** 52;

/**
 * A pre-queue person's place key: the first 52 bits of SHA-1(seed:person), as queue-shuffle.lua computes it with
 * redis.sha1hex. A keyed hash of a seed drawn at the start orders the pre-queue uniformly at random, and anyone
 * holding the log can compute it again.
 */
export const shuffledPlace = (seed: string, person: string): number => parseInt(createHash('sha1').update(`${seed}:${person}`).digest('hex').slice(0, 13), 16);

/** A person's place key in the line; undefined while they wait in a pre-queue not yet shuffled. */
/** What places a line: the seed of its shuffle (once drawn) and everyone's ticket. */
interface Tickets {
  seed?: string;
  tickets: Map<string, { ticket: number; phase: 'pre' | 'line' }>;
}

export function placeKey(queue: Pick<Tickets, 'seed'>, person: string, ticket: { ticket: number; phase: 'pre' | 'line' }): number | undefined {
  if (ticket.phase === 'line') return AFTER_START + ticket.ticket;
  return queue.seed === undefined ? undefined : shuffledPlace(queue.seed, person);
}

const byKeyThenBytes = (a: [string, number], b: [string, number]) => a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));

/**
 * The line as the log says it stands: everyone placed, in the order passes go out (a Redis sorted set's order:
 * by key, then by the member's bytes). Place n (0-based) is handed the nth pass.
 */
export function lineOf(queue: Tickets): string[] {
  const placed: [string, number][] = [];
  for (const [person, ticket] of queue.tickets) {
    const key = placeKey(queue, person, ticket);
    if (key !== undefined) placed.push([person, key]);
  }
  return placed.sort(byKeyThenBytes).map(([person]) => person);
}
