import type { PassThrough } from 'node:stream';
import type { Logger } from '../../log/logger.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';
import type { Room, Standing } from '../admission/queue-scripts.ts';
import type { QueuePasses } from './queue-passes.ts';
import { FINAL, ticketView, type TicketView } from './ticket-view.ts';

/** How often a room this process watches is stepped and its streams told. */
const STEP_MS = 200;
/** How long a room is stepped after the last request about it, with no stream open. */
const INTEREST_MS = 30_000;
/** The pass rate shown is measured over this long. */
const RATE_WINDOW_MS = 10_000;
/** Streams one account may hold open on this process: a few tabs, not a load on the room's reads. */
export const STREAMS_PER_CALLER = 4;

interface Caller {
  userId: string;
  claims: string;
}

interface Watcher extends Caller {
  stream: PassThrough;
  standing?: Standing;
  /** The room's state, and Redis's clock, when their standing was read. */
  readIn?: Room['state'];
  readAt?: number;
  sent?: string;
}

interface Watched {
  interestUntil: number;
  watchers: Set<Watcher>;
  /** Places granted, as seen at each step of the last RATE_WINDOW_MS the room was open. */
  samples: { at: number; head: number }[];
  room?: Room;
  /** A step of this room is under way: the next waits for it, other rooms do not. */
  stepping?: boolean;
}

/**
 * The waiting rooms this API process serves: each one with a request in the last 30 s or a stream open is stepped
 * five times a second (queue-grant.lua meters passes exactly, however many processes step it), and each step tells
 * every stream of it where its caller now stands. A stream's place is read once it is placed; after that its
 * position is the place less the places granted, which one read of the room per step says for every stream.
 */
export class WaitingRooms {
  readonly passes?: QueuePasses;
  private admission?: AdmissionStore;
  private readonly logger: Logger;
  private readonly rooms = new Map<string, Watched>();
  private readonly streams = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(passes: QueuePasses | undefined, logger: Logger) {
    this.passes = passes;
    this.logger = logger;
  }

  /** The admission store the rooms live in (made with the routes, after the rooms, which outlive them to be closed). */
  serve(admission: AdmissionStore): void {
    this.admission = admission;
  }

  private get store(): AdmissionStore {
    if (!this.admission) throw new Error('waiting rooms served before serve()');
    return this.admission;
  }

  /** The caller's ticket, as shown to them; undefined when they never joined. */
  async ticket(couponId: string, caller: Caller): Promise<TicketView | 'COUPON_NOT_FOUND' | 'NOT_A_QUEUE' | 'IDENTITY_REQUIRED' | undefined> {
    const read = await this.store.queueRead(couponId, caller);
    if (typeof read === 'string') return read;
    // Only a room that exists is stepped: asking about made-up coupon ids costs this process no steps.
    const watched = this.touch(couponId);
    watched.room = read.room;
    return this.viewOf(couponId, watched, read.standing!);
  }

  /** Whether the caller may open one more stream on this process. */
  mayWatch(userId: string): boolean {
    return (this.streams.get(userId) ?? 0) < STREAMS_PER_CALLER;
  }

  /**
   * A stream of the caller's ticket, from `first` (what ticket() answered them): a message whenever it changes,
   * ending once it is final.
   */
  watch(couponId: string, caller: Caller, stream: PassThrough, first: TicketView): void {
    const watched = this.touch(couponId);
    const sent = `data: ${JSON.stringify(first)}\n\n`;
    const watcher: Watcher = { ...caller, stream, sent };
    if (!FINAL.has(first.status)) watched.watchers.add(watcher);
    this.streams.set(caller.userId, (this.streams.get(caller.userId) ?? 0) + 1);
    stream.once('close', () => {
      watched.watchers.delete(watcher);
      const left = (this.streams.get(caller.userId) ?? 1) - 1;
      if (left > 0) this.streams.set(caller.userId, left);
      else this.streams.delete(caller.userId);
    });
    stream.write(`retry: 1000\n\n${sent}`);
    if (FINAL.has(first.status)) stream.end();
  }

  closeAll(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const watched of this.rooms.values()) for (const w of watched.watchers) w.stream.end();
  }

  private touch(couponId: string): Watched {
    let watched = this.rooms.get(couponId);
    if (!watched) this.rooms.set(couponId, (watched = { interestUntil: 0, watchers: new Set(), samples: [] }));
    watched.interestUntil = Date.now() + INTEREST_MS;
    if (!this.closed) this.timer ??= setInterval(() => this.step(), STEP_MS).unref();
    return watched;
  }

  private viewOf(couponId: string, watched: Watched, standing: Standing): TicketView | undefined {
    if (!standing.ticket || !watched.room || !this.passes) return undefined;
    return ticketView(couponId, watched.room, { ...standing, ticket: standing.ticket }, this.rate(watched), this.passes);
  }

  /** Passes granted per second lately; the room's admitPerSecond until a second of grants was seen. */
  private rate(watched: Watched): number {
    const first = watched.samples[0];
    const last = watched.samples.at(-1);
    if (!first || !last || last.at - first.at < 1_000 || last.head === first.head) return watched.room?.admitPerSecond ?? 1;
    return ((last.head - first.head) * 1000) / (last.at - first.at);
  }

  /** Steps every room at once: one slow room (a shuffle of millions, a call retried) holds up no other's notices. */
  private step(): void {
    for (const [couponId, watched] of this.rooms) {
      if (watched.watchers.size === 0 && watched.interestUntil < Date.now()) this.rooms.delete(couponId);
      else if (!watched.stepping) {
        watched.stepping = true;
        void this.stepRoom(couponId, watched)
          .catch((error: unknown) => this.logger.warn({ err: error, couponId }, 'waiting room step failed'))
          .finally(() => (watched.stepping = false));
      }
    }
    if (this.rooms.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async stepRoom(couponId: string, watched: Watched): Promise<void> {
    const most = Math.max(1, Math.ceil(((watched.room?.admitPerSecond ?? 1) * STEP_MS) / 1000));
    await this.store.queueStep(couponId, most);
    const read = await this.store.queueRead(couponId);
    if (typeof read === 'string') return;
    watched.room = read.room;
    // Only an open room's grants measure its pace: before the start, or once it is over, there is none to measure.
    const at = Date.now();
    if (read.room.state === 'OPEN') watched.samples.push({ at, head: read.room.head });
    else watched.samples.length = 0;
    while (watched.samples.length > 1 && watched.samples[0]!.at < at - RATE_WINDOW_MS) watched.samples.shift();
    await Promise.all([...watched.watchers].map((w) => this.tell(couponId, watched, w)));
  }

  /**
   * Reads the watcher's standing only when the room alone cannot say it: first, once whenever the room's state has
   * changed since (the shuffle placing them, a sell-out), and while their turn has come and their pass is live
   * (to see it used). A pre-queue waiting for the start, or a line waiting its turn, costs no read per step.
   */
  private async tell(couponId: string, watched: Watched, w: Watcher): Promise<void> {
    if (w.stream.writableEnded) return;
    const room = watched.room!;
    const s = w.standing;
    // Their turn has come and the pass was live when last read: read once more after it lapses, to tell a claim made in its last moments from a lapse.
    const turn = s !== undefined && s.place !== undefined && s.place < room.head && !s.holds && (s.passUntil === undefined || (w.readAt ?? 0) < s.passUntil);
    if (!s || w.readIn !== room.state || turn) {
      const read = await this.store.queueRead(couponId, w);
      if (typeof read === 'string') return void w.stream.end(`event: problem\ndata: ${JSON.stringify({ code: read })}\n\n`);
      w.standing = read.standing;
      w.readIn = room.state;
      w.readAt = read.room.now;
    }
    if (w.stream.writableEnded) return;
    const view = this.viewOf(couponId, watched, w.standing!);
    if (!view) return void w.stream.end(`event: problem\ndata: ${JSON.stringify({ code: 'NOT_IN_QUEUE' })}\n\n`);
    const message = `data: ${JSON.stringify(view)}\n\n`;
    if (message !== w.sent) w.stream.write((w.sent = message));
    if (FINAL.has(view.status)) w.stream.end();
  }
}
