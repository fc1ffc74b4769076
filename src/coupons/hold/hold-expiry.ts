import type { Logger } from '../../log/logger.ts';
import type { Db } from '../../db/database.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';

const SWEEP_MS = 1_000;
const PAGE = 500;
const PAGES_PER_SWEEP = 20;
const SIDE_BY_SIDE = 20;

/**
 * Ends the holds that lapsed. Every second it reads the read model's HELD rows past their hold_until and asks
 * expire-hold.lua to end each: every API process runs it, and the script writes one event however many ask. The
 * rows come from the log, so a restart loses no hold's expiry; a projection behind only delays the event (the rules
 * already treat a hold as lapsed at its time), and a row still HELD after its hold ended is asked again harmlessly.
 */
export class HoldExpiry {
  private admission: AdmissionStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly db: Db;
  private readonly logger: Logger;

  constructor(db: Db, logger: Logger) {
    this.db = db;
    this.logger = logger;
  }

  serve(admission: AdmissionStore): void {
    this.admission = admission;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = true;
      this.sweep()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'hold expiry sweep failed; the next one tries again'))
        .finally(() => (this.sweeping = false));
    }, SWEEP_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * One sweep at `now`: how many held rows were due, and how many holds this process ended. Pages go on past rows
   * that fail (a coupon whose shard is not answering) or are already ended in Redis (the read model behind), so a
   * few stuck rows never starve the rest.
   */
  async sweep(now = new Date()): Promise<{ due: number; expired: number; failed: number }> {
    const admission = this.admission;
    if (!admission) throw new Error('hold expiry swept before serve()');
    let [due, expired, failed] = [0, 0, 0];
    let after: { until: Date; id: string } | undefined;
    for (let page = 0; page < PAGES_PER_SWEEP; page++) {
      const rows = await this.db.selectFrom('issued_coupon').select(['id', 'coupon_id', 'hold_sequence', 'hold_until'])
        .where('status', '=', 'HELD').where('hold_until', '<=', now)
        .$if(after !== undefined, (q) => q.where((eb) => eb.or([eb('hold_until', '>', after!.until), eb.and([eb('hold_until', '=', after!.until), eb('id', '>', after!.id)])])))
        .orderBy('hold_until').orderBy('id').limit(PAGE).execute();
      due += rows.length;
      for (let i = 0; i < rows.length; i += SIDE_BY_SIDE) {
        const outcomes = await Promise.allSettled(rows.slice(i, i + SIDE_BY_SIDE).map(async (row) => {
          const sequence = parseIssuedCouponId(row.id)?.sequence;
          return sequence === undefined ? undefined : (await admission.expireHold(row.coupon_id, sequence, row.hold_sequence)).outcome;
        }));
        expired += outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'EXPIRED').length;
        failed += outcomes.filter((o) => o.status === 'rejected').length;
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1]!;
      after = { until: last.hold_until!, id: last.id };
    }
    if (expired > 0 || failed > 0) this.logger[failed > 0 ? 'warn' : 'info']({ due, expired, failed }, 'lapsed holds ended');
    return { due, expired, failed };
  }
}
