import { createHash } from 'node:crypto';

/** Where those who joined after the start stand: behind every place the shuffle can give, in ticket order. */
export const AFTER_START = 2 ** 52;

/**
 * A pre-queue person's place key: the first 52 bits of SHA-1(seed:person), as queue-shuffle.lua computes it with
 * redis.sha1hex. A keyed hash of a seed drawn at the start orders the pre-queue uniformly at random, and anyone
 * holding the log can compute it again.
 */
export const shuffledPlace = (seed: string, person: string): number => parseInt(createHash('sha1').update(`${seed}:${person}`).digest('hex').slice(0, 13), 16);

/** What places a line: the seed of its shuffle (once drawn), everyone's ticket, and the persons in ticket order. */
interface Tickets {
  seed?: string;
  tickets: Map<string, { ticket: number; phase: 'pre' | 'line' }>;
  joined: readonly string[];
}

/** A person's place key in the line; undefined while they wait in a pre-queue not yet shuffled. */
export function placeKey(queue: Pick<Tickets, 'seed'>, person: string, ticket: { ticket: number; phase: 'pre' | 'line' }): number | undefined {
  if (ticket.phase === 'line') return AFTER_START + ticket.ticket;
  return queue.seed === undefined ? undefined : shuffledPlace(queue.seed, person);
}

const byKeyThenBytes = (a: [string, number], b: [string, number]) => a[1] - b[1] || Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));

/** Each queue's line as last computed: the seed it was placed by and how many tickets it had seen. */
const lines = new WeakMap<Tickets['tickets'], { seed?: string; seen: number; line: string[] }>();

/**
 * The line as the log says it stands: everyone placed, in the order passes go out (a Redis sorted set's order:
 * by key, then by the member's bytes). Place n (0-based) is handed the nth pass. Joins after the start only extend
 * it (their keys follow every shuffled one, in ticket order), so it is hashed and sorted once per seed, not once
 * per grant: an audit of a room of millions stays linear. Read it, do not change it.
 */
export function lineOf(queue: Tickets): readonly string[] {
  const kept = lines.get(queue.tickets);
  if (kept && kept.seed === queue.seed) {
    const fresh = queue.joined.slice(kept.seen);
    if (fresh.every((person) => queue.tickets.get(person)?.phase === 'line')) {
      kept.line.push(...fresh);
      kept.seen = queue.joined.length;
      return kept.line;
    }
  }
  const placed: [string, number][] = [];
  for (const [person, ticket] of queue.tickets) {
    const key = placeKey(queue, person, ticket);
    if (key !== undefined) placed.push([person, key]);
  }
  const line = placed.sort(byKeyThenBytes).map(([person]) => person);
  lines.set(queue.tickets, { ...(queue.seed === undefined ? {} : { seed: queue.seed }), seen: queue.joined.length, line });
  return line;
}
