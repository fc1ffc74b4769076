import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Insertable, type Updateable } from 'kysely';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import type { NotificationDeliveryTable } from '../db/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { Liveness } from '../runtime/liveness.ts';
import { metrics } from '../metrics/metrics.ts';
import type { Channel, Recipient } from './channels/channel.ts';
import { noticeOf } from './notice.ts';

/** How long a claimed delivery is held before another dispatcher may try it (a crashed one's, say). */
export const CLAIM_MS = 60_000;

/**
 * Delivers every notice on every channel that reaches its user, with its state in MySQL: a delivery is
 * planned once, claimed with SKIP LOCKED (so N notifiers share the work), retried with exponential backoff
 * and dead after the last attempt, where an admin can list and retry it. A restart resumes from the table.
 */
export class DeliveryDispatcher {
  private stopping = false;
  private wake?: () => void;

  private readonly db: Db;
  private readonly channels: Channel[];
  private readonly settings: Config['notifier']['delivery'];
  private readonly logger: Logger;
  private readonly liveness?: Liveness;

  constructor(db: Db, channels: Channel[], settings: Config['notifier']['delivery'], logger: Logger, liveness?: Liveness) {
    this.db = db;
    this.channels = channels;
    this.settings = settings;
    this.logger = logger;
    this.liveness = liveness;
  }

  async run(): Promise<void> {
    while (!this.stopping) {
      this.liveness?.moved('delivery');
      let busy = false;
      try {
        busy = (await this.plan()) + (await this.deliverDue()) > 0;
      } catch (error) {
        this.logger.warn({ err: error }, 'delivery round failed; retrying');
      }
      if (!busy && !this.stopping) await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(this.settings.pollMs).then(resolve);
      });
    }
    this.liveness?.stopped('delivery');
    await Promise.all(this.channels.map((c) => c.close?.()));
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  private async recipient(userId: string): Promise<Recipient> {
    const account = await this.db.selectFrom('user_account').select('email').where('id', '=', userId).executeTakeFirst();
    return { userId, ...(account ? { email: account.email } : {}) };
  }

  /** New notices get one delivery row per channel that can reach their user. */
  private async plan(): Promise<number> {
    const fresh = await this.db.selectFrom('notification').select(['id', 'user_id', 'type']).where('dispatched', '=', 0).orderBy('id').limit(500).execute();
    if (fresh.length === 0) return 0;
    const now = new Date();
    const rows: Insertable<NotificationDeliveryTable>[] = [];
    for (const notice of fresh) {
      const recipient = await this.recipient(notice.user_id);
      for (const channel of this.channels.filter((c) => c.reaches(recipient))) {
        rows.push({ notification_id: notice.id, channel: channel.name, status: 'PENDING', attempts: 0, next_attempt_at: now, updated_at: now });
      }
    }
    await this.db.transaction().execute(async (tx) => {
      if (rows.length > 0) await tx.insertInto('notification_delivery').values(rows).onDuplicateKeyUpdate({ channel: sql.ref('channel') }).execute();
      await tx.updateTable('notification').set({ dispatched: 1 }).where('id', 'in', fresh.map((n) => n.id)).execute();
    });
    for (const notice of fresh) metrics.noticesRaised.inc({ kind: notice.type });
    return fresh.length;
  }

  private async deliverDue(): Promise<number> {
    const now = new Date();
    const claimed = await this.db.transaction().execute(async (tx) => {
      const due = await tx
        .selectFrom('notification_delivery')
        .select(['notification_id', 'channel', 'attempts'])
        .where('status', '=', 'PENDING')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(50)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const d of due) {
        await tx.updateTable('notification_delivery')
          .set({ attempts: d.attempts + 1, next_attempt_at: new Date(now.getTime() + CLAIM_MS), updated_at: now })
          .where('notification_id', '=', d.notification_id).where('channel', '=', d.channel).execute();
      }
      return due.map((d) => ({ ...d, attempts: d.attempts + 1 }));
    });
    await Promise.all(claimed.map((d) => this.attempt(d)));
    return claimed.length;
  }

  private async attempt(d: { notification_id: string; channel: Channel['name']; attempts: number }): Promise<void> {
    const channel = this.channels.find((c) => c.name === d.channel);
    const where = { notification_id: d.notification_id, channel: d.channel };
    const update = (set: Updateable<NotificationDeliveryTable>) =>
      this.db.updateTable('notification_delivery').set(set).where('notification_id', '=', where.notification_id).where('channel', '=', where.channel).execute();
    try {
      if (!channel) throw new Error(`channel ${d.channel} is not configured on this notifier`);
      const row = await this.db
        .selectFrom('notification as n')
        .leftJoin('coupon as c', 'c.id', 'n.coupon_id')
        .selectAll('n')
        .select('c.name as coupon_name')
        .where('n.id', '=', d.notification_id)
        .executeTakeFirstOrThrow();
      await channel.send(noticeOf(row, row.coupon_name), await this.recipient(row.user_id));
      await update({ status: 'DELIVERED', delivered_at: new Date(), last_error: null, updated_at: new Date() });
      metrics.deliveries.inc({ channel: d.channel, status: 'delivered' });
    } catch (error) {
      const message = (error as Error).message.slice(0, 1000);
      const dead = d.attempts >= this.settings.maxAttempts;
      metrics.deliveries.inc({ channel: d.channel, status: dead ? 'dead' : 'failed' });
      const delay = Math.min(3_600_000, this.settings.backoffMs * 2 ** (d.attempts - 1));
      await update(dead
        ? { status: 'DEAD' as const, last_error: message, updated_at: new Date() }
        : { next_attempt_at: new Date(Date.now() + delay), last_error: message, updated_at: new Date() });
      this.logger[dead ? 'error' : 'warn']({ notification: d.notification_id, channel: d.channel, attempts: d.attempts, error: message }, dead ? 'delivery dead' : 'delivery failed; will retry');
    }
  }
}
