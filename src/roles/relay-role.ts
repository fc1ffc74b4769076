import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { watchOutbox } from '../metrics/runtime-gauges.ts';
import { connectRedis, type Redis } from '../redis/redis-client.ts';
import { OutboxRelay } from '../relay/outbox-relay.ts';
import { ShardLeases } from '../relay/shard-leases.ts';
import { ScriptRunner } from '../coupons/admission/script-runner.ts';
import { StockBuckets } from '../coupons/admission/stock-buckets.ts';
import { redisTarget, type Runtime } from '../runtime/runtime.ts';
import type { RunningRole } from './role.ts';

export interface RunningRelay extends RunningRole {
  relay: OutboxRelay;
}

/** `reader`: the connection the outbox is read on (its own, so reads never queue behind other commands). */
export async function startRelay(runtime: Runtime, reader?: Redis): Promise<RunningRelay> {
  const { config, redis, kafka, logger } = runtime;
  const log = logger.child({ role: 'relay' });
  watchOutbox(runtime);
  const readerConnection = reader ?? (await connectRedis(redisTarget(runtime.config), config.redis, log));
  const buckets = new StockBuckets(new ScriptRunner(redis, config.admission));
  const relay = new OutboxRelay({
    redis,
    reader: readerConnection,
    leases: new ShardLeases(redis, `${hostname()}:${process.pid}:${randomUUID()}`, config.admission.shards, config.relay.leaseMs,
      config.admission.replicas, config.admission.replicaWaitMs),
    openProducer: () => kafka.producer(),
    topic: config.kafka.topic,
    batchSize: config.relay.batchSize,
    lingerMs: config.relay.lingerMs,
    logger: log,
    liveness: runtime.liveness,
    beforeSend: async (event, gate) => {
      if (event.type === 'CouponStockAdded') return buckets.reopen(event.couponId, event.data.totalQuantity);
      // A bucket's own announcement of a change needs nothing; the coupon's is carried to its buckets first.
      if (event.type === 'CouponIssueWindowChanged' || event.type === 'CouponEligibilityChanged') return event.data.bucket === undefined ? buckets.carrySettings(event.couponId, {}) : undefined;
      if (event.type === 'CouponAllowListReplaced') return event.data.bucket === undefined ? buckets.carryAllowList(event.couponId, {}, false) : undefined;
      if ((await buckets.completeTransfer(event.couponId, event.data, gate)) === 'BUCKET_LOST') {
        log.error({ couponId: event.couponId, transfer: event.data }, 'stock moved toward a bucket lost with its node: that stock is lost (run the audit)');
      }
    },
  });
  const running = relay.run();
  return {
    name: 'relay',
    relay,
    stop: async () => {
      relay.stop();
      await running;
      await readerConnection.quit().catch(() => undefined);
    },
  };
}
