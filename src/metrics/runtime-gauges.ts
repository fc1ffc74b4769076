import { outboxDepth } from '../outbox/outbox.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { gaugeOnScrape } from './metrics.ts';

/** `outbox_pending{shard}`: events waiting for the relay, read from Redis at each scrape. */
export function watchOutbox({ redis, config }: Runtime): void {
  gaugeOnScrape('outbox_pending', 'Events waiting in each outbox shard for the relay (admissions stop at OUTBOX_MAX_ENTRIES)', ['shard'], async () =>
    (await outboxDepth(redis, config.admission.shards, config.admission.outboxMaxEntries)).pending.map((value, shard) => ({ labels: { shard }, value })));
}
