import type { Logger } from '../../log/logger.ts';
import type { Db } from '../../db/database.ts';
import { parseIssuedCouponId } from '../../ids/ids.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';

const SWEEP_MS = 1_000;
const PAGE = 500;
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

  /** One sweep at `now`: how many held rows were due, and how many holds this process ended. */
  async sweep(now = new Date()): Promise<{ due: number; expired: number }> {
    const admission = this.admission;
    if (!admission) throw new Error('hold expiry swept before serve()');
    const due = await this.db.selectFrom('issued_coupon').select(['id', 'coupon_id', 'hold_sequence'])
      .where('status', '=', 'HELD').where('hold_until', '<=', now).orderBy('hold_until').limit(PAGE).execute();
    let expired = 0;
    for (let i = 0; i < due.length; i += SIDE_BY_SIDE) {
      const outcomes = await Promise.all(due.slice(i, i + SIDE_BY_SIDE).map(async (row) => {
        const sequence = parseIssuedCouponId(row.id)?.sequence;
        return sequence === undefined ? undefined : (await admission.expireHold(row.coupon_id, sequence, row.hold_sequence)).outcome;
      }));
      expired += outcomes.filter((o) => o === 'EXPIRED').length;
    }
    if (expired > 0) this.logger.info({ due: due.length, expired }, 'lapsed holds ended');
    return { due: due.length, expired };
  }
}
