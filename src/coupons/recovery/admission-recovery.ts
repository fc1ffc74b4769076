import { readFileSync } from 'node:fs';
import { parseCouponEvent, type CouponEvent } from '../../events/coupon-events.ts';
import { partitionFor } from '../../kafka/kafka-client.ts';
import type { LogAndStores } from '../../runtime/runtime.ts';
import { outboxEvents } from '../../audit/snapshots.ts';
import { evolve, type AdmissionCoupon } from '../admission/decide.ts';
import { couponKeys } from '../admission/keys.ts';
import { chunks } from '../../batching/chunks.ts';

const RESTORE = readFileSync(new URL('../admission/restore.lua', import.meta.url), 'utf8');
/** Present while Redis holds admission state; gone after a FLUSHALL or a fresh Redis. */
export const ADMISSION_MARKER = 'admission:state';

interface Rebuilt {
  state: AdmissionCoupon;
  definition: string;
  validFrom: string;
  validUntil: string;
  createdAt: number;
  closedAt?: number;
}

/**
 * Rebuilds Redis admission state from the log (and whatever outbox survived), so a lost Redis never
 * reopens sold-out stock or lets a user get a second coupon. Coupons Redis still holds are left alone.
 */
export class AdmissionRecovery {
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(private readonly deps: LogAndStores) {}

  /** At start-up: if Redis lost everything, restore everything before the API admits. */
  async ensureRestored(): Promise<number> {
    if (await this.deps.redis.exists(ADMISSION_MARKER)) return 0;
    const restored = await this.restore();
    await this.deps.redis.set(ADMISSION_MARKER, new Date().toISOString());
    return restored.length;
  }

  /** On a miss: a coupon the read model knows but Redis does not was lost, so restore it and say so. */
  recoverIfLost(couponId: string): Promise<boolean> {
    let running = this.inFlight.get(couponId);
    if (!running) {
      running = (async () => {
        if (await this.deps.redis.exists(couponKeys(couponId, this.deps.shards).coupon)) return false;
        const known = await this.deps.db.selectFrom('coupon').select('id').where('id', '=', couponId).executeTakeFirst();
        if (!known) return false;
        return (await this.restore([couponId])).length > 0;
      })().finally(() => this.inFlight.delete(couponId));
      this.inFlight.set(couponId, running);
    }
    return running;
  }

  /**
   * Restores the given coupons (all in the log when none are named); returns the ones written.
   *
   * The relay moves entries from the outbox to the log while this runs. The outbox is read before the log's
   * end is fixed: an entry moved after that read reached Kafka before the end was fixed, so the log read
   * has it, and one not moved yet is in that outbox read. The outbox is read again after the log, for what
   * was admitted meanwhile. Copies are dropped by eventId: the log's copy is applied, an outbox copy only if
   * the log read lacks it.
   */
  async restore(only?: string[]): Promise<string[]> {
    // A log that does not exist yet (a fresh deployment) holds nothing to restore.
    if (!(await this.deps.kafka.topicExists(this.deps.topic))) return [];
    const wanted = only ? new Set(only) : undefined;
    const relevant = (event: CouponEvent) => !wanted || wanted.has(event.couponId);
    const pendingBefore = (await outboxEvents(this.deps.redis, this.deps.shards)).filter(relevant);
    const until = await this.deps.kafka.endOffsets(this.deps.topic);

    const rebuilt = new Map<string, Rebuilt>();
    const apply = (event: CouponEvent) => {
      const current = rebuilt.get(event.couponId);
      const state = evolve(current?.state, event);
      if (!state) return;
      if (event.type === 'CouponCreated' && !current) {
        rebuilt.set(event.couponId, {
          state, definition: JSON.stringify(event.data), validFrom: event.data.validFrom, validUntil: event.data.validUntil,
          createdAt: Date.parse(event.occurredAt),
        });
      } else if (current && event.type === 'CouponIssuanceClosed') {
        current.closedAt ??= Date.parse(event.occurredAt);
      }
    };
    const inOutbox = new Set(pendingBefore.map((e) => e.eventId));
    const partitions = only ? [...new Set(only.map((id) => partitionFor(id, this.deps.partitions)))] : undefined;
    await this.deps.kafka.scan(this.deps.topic, (batch) => {
      for (const message of batch.messages) {
        if (wanted && (!message.key || !wanted.has(message.key))) continue;
        try {
          const event = parseCouponEvent(JSON.parse(message.value ?? 'null'));
          inOutbox.delete(event.eventId);
          apply(event);
        } catch {
          // Unreadable events are the audit's and the dead-letter table's to report; they never admitted anything.
        }
      }
    }, { until, ...(partitions ? { partitions } : {}) });
    const pendingAfter = (await outboxEvents(this.deps.redis, this.deps.shards)).filter(relevant);
    // Still in the outbox before, not in the log read: the relay had not moved it. Added since: after.
    const notInLog = [...pendingBefore.filter((e) => inOutbox.has(e.eventId)), ...pendingAfter.filter((e) => !pendingBefore.some((b) => b.eventId === e.eventId))];
    for (const event of notInLog) apply(event);

    const written: string[] = [];
    for (const [couponId, r] of rebuilt) {
      if (await this.write(couponId, r)) written.push(couponId);
    }
    if (written.length > 0) this.deps.logger.warn({ coupons: written.length }, 'restored admission state from the log');
    return written;
  }

  private async write(couponId: string, r: Rebuilt): Promise<boolean> {
    const k = couponKeys(couponId, this.deps.shards);
    if (await this.deps.redis.exists(k.coupon)) return false;
    const { state } = r;
    for (const part of chunks([...state.holders], 1_000)) await this.deps.redis.hset(k.holders, Object.fromEntries(part));
    for (const part of chunks([...state.used], 1_000)) await this.deps.redis.hset(k.used, Object.fromEntries(part));
    const fields: Record<string, string | number> = {
      st: state.status, tot: state.totalQuantity, iss: state.issued, usd: state.usedCount, is: state.issueStartAt, ie: state.issueEndAt,
      vf: state.validFrom, vu: state.validUntil, vfs: r.validFrom, vus: r.validUntil, def: r.definition, ca: r.createdAt,
      ...(r.closedAt !== undefined ? { cl: r.closedAt } : {}),
    };
    return (await this.deps.redis.eval(RESTORE, 1, k.coupon, ...Object.entries(fields).flat())) === 1;
  }
}
