import cron from 'node-cron';
import { notificationProjection } from '../../projections/notification/notification-projection.ts';
import { emailChannel } from '../notifications/channels/email-channel.ts';
import { webhookChannel } from '../notifications/channels/webhook-channel.ts';
import type { Channel } from '../notifications/channels/channel.ts';
import { DeliveryDispatcher } from '../notifications/delivery-dispatcher.ts';
import { scanForExpiringCoupons } from '../notifications/expiry-scan.ts';
import { liveRun } from '../projector/apply-batch.ts';
import { startProjector } from '../projector/projector.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { RunningRole } from './role.ts';

/**
 * Usage notices from the log (a projection with its own consumer group), expiry notices from a node-cron
 * scan of the issued_coupon read model, and delivery of both on the configured channels.
 */
export async function startNotifier(runtime: Runtime): Promise<RunningRole> {
  const { config, db, logger } = runtime;
  const settings = config.notifier;
  const log = logger.child({ role: 'notifier' });
  const projector = await startProjector(runtime, [liveRun(notificationProjection)], 'notifier');
  const channels: Channel[] = [
    ...(settings.webhook ? [webhookChannel(settings.webhook.url, settings.webhook.secret)] : []),
    ...(settings.smtp ? [emailChannel(settings.smtp.url, settings.smtp.from)] : []),
  ];
  const dispatcher = new DeliveryDispatcher(db, channels, settings.delivery, log, runtime.liveness);
  const delivering = dispatcher.run();
  const scan = async () => {
    const result = await scanForExpiringCoupons(db, settings.expiryNoticeDays);
    log.info(result, 'expiry scan');
  };
  const task = cron.schedule(settings.cron, () => scan().catch((error: unknown) => log.error({ err: error }, 'expiry scan failed')), {
    timezone: settings.timezone,
    noOverlap: true,
    name: 'expiry-notices',
  });
  return {
    name: 'notifier',
    stop: async () => {
      await task.stop();
      dispatcher.stop();
      await delivering;
      await projector.stop();
    },
  };
}
