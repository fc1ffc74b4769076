import type { Redis } from 'ioredis';
import { refreshSlotsAfter } from '../../redis/redis-client.ts';
import { OutcomeUnknown } from '../../dependencies/dependency-unavailable.ts';

type Pipeline = Record<string, (...args: (string | number)[]) => unknown> & { exec(): Promise<[Error | null, unknown][] | null> };

interface Pending {
  script: string;
  args: (string | number)[];
  resolve(reply: string[]): void;
  reject(error: unknown): void;
}

/** Decisions of one slot sent in one pipeline, at most this many. */
const MAX_BATCH = 256;

/**
 * Admission scripts answered only once a replica has them, as a group commit. `WAIT` blocks the connection
 * it is sent on, and ioredis has one connection per node, so a `WAIT` after every script would let one
 * decision per replication round trip through. Instead, the decisions of a slot that arrive while its
 * previous batch waits go together: the scripts, then one `WAIT 1`, in one pipeline on the slot's node.
 * `WAIT` confirms every write this connection made before it, so one acknowledgement confirms the batch.
 * A lone decision is sent at once (no added latency when the load is light).
 */
export class ReplicaConfirmedCalls {
  private readonly queues = new Map<string, Pending[]>();

  private readonly redis: Redis;
  private readonly waitMs: number;
  /** How long a call may take, queued and sent, before its caller is told it went unanswered (it may still run). */
  private readonly timeoutMs: number;

  constructor(redis: Redis, waitMs: number, timeoutMs: number) {
    this.redis = redis;
    this.waitMs = waitMs;
    this.timeoutMs = timeoutMs;
  }

  /** Runs `script` (its first argument is a key carrying the slot's hash tag) and resolves once a replica has it. */
  call(script: string, args: (string | number)[]): Promise<string[]> {
    const slot = /^\{[^}]*\}/.exec(String(args[0]))?.[0] ?? String(args[0]);
    return new Promise((resolve, reject) => {
      // Behind a batch stuck on a dying node, a caller would wait for it and every batch before its own:
      // it is answered in bounded time instead, and its request id makes a late run of it harmless.
      const timer = setTimeout(() => {
        const queue = this.queues.get(slot);
        const queued = queue?.indexOf(pending) ?? -1;
        if (queued >= 0) queue!.splice(queued, 1);
        reject(new Error(`no answer from the slot's node within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const pending: Pending = {
        script, args,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const queue = this.queues.get(slot);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.queues.set(slot, [pending]);
      void this.drain(slot);
    });
  }

  /** Sends the slot's queue batch by batch, one batch in flight, until it is empty. */
  private async drain(slot: string): Promise<void> {
    const queue = this.queues.get(slot)!;
    while (queue.length > 0) await this.send(queue.splice(0, MAX_BATCH));
    this.queues.delete(slot);
  }

  private async send(batch: Pending[]): Promise<void> {
    const pipeline = this.redis.pipeline() as unknown as Pipeline;
    for (const { script, args } of batch) pipeline[script]!(...args);
    pipeline.call!('WAIT', 1, this.waitMs);
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const [waitError, acked] = results[batch.length] ?? [new Error('no reply to WAIT'), 0];
    batch.forEach((p, i) => {
      const [scriptError, reply] = results[i] ?? [new Error('no reply to the script'), undefined];
      if (scriptError) {
        refreshSlotsAfter(this.redis, scriptError);
        p.reject(scriptError);
      } else if (waitError) p.reject(waitError);
      else if (Number(acked) < 1) p.reject(new OutcomeUnknown(new Error(`no replica confirmed the decision within ${this.waitMs} ms`)));
      else p.resolve(reply as string[]);
    });
  }
}
