import { outboxDepth } from '../outbox/outbox.ts';
import { projectionLags } from '../projections/projection-status.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { gaugeOnScrape } from './metrics.ts';

/** `outbox_pending{shard}`: events waiting for the relay, read from Redis at each scrape. */
export function watchOutbox({ redis, config }: Runtime): void {
  gaugeOnScrape('outbox_pending', 'Events waiting in each outbox shard for the relay (admissions stop at OUTBOX_MAX_ENTRIES)', ['shard'], async () =>
    (await outboxDepth(redis, config.admission.shards, config.admission.outboxMaxEntries)).pending.map((value, shard) => ({ labels: { shard }, value })));
}

/** `projection_lag_events{projection,partition}`: events of the log a read model has not applied, at each scrape. */
export function watchProjectionLag({ db, kafka, config }: Runtime): void {
  gaugeOnScrape('projection_lag_events', 'Events in the log each projection has not applied yet, per partition', ['projection', 'partition'], async () =>
    (await projectionLags(db, kafka, config.kafka.topic)).map(({ projection, partition, lag }) => ({ labels: { projection, partition }, value: lag })));
}
