import { gaugeOnScrape } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { projectionLags } from './projection-status.ts';

/** `projection_lag_events{projection,partition}`: events of the log a read model has not applied, at each scrape. */
export function watchProjectionLag({ db, kafka, config }: Runtime): void {
  gaugeOnScrape('projection_lag_events', 'Events in the log each projection has not applied yet, per partition', ['projection', 'partition'], async () =>
    (await projectionLags(db, kafka, config.kafka.topic)).map(({ projection, partition, lag }) => ({ labels: { projection, partition }, value: lag })));
}
