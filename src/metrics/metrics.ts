import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric of this process, in one registry, served as Prometheus text on `/metrics` (the API's port, or
 * METRICS_PORT for the other roles). A process runs whatever roles it was given, so each role's metrics
 * exist in every process and stay at zero where the role does not run. Labels are bounded: route templates,
 * outcome codes, shard and partition numbers, never ids.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const registers = [registry];

export const metrics = {
  httpRequests: new Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by route template and status', labelNames: ['method', 'route', 'status'], registers }),
  httpDuration: new Histogram({ name: 'http_request_duration_seconds', help: 'Time to answer an HTTP request', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers }),
  admissionOutcomes: new Counter({
    name: 'admission_outcomes_total', help: 'Admission decisions (create, issue, use, close) by outcome code, including OUTCOME_UNKNOWN and EVENT_LOG_UNAVAILABLE',
    labelNames: ['decision', 'code'], registers,
  }),
  admissionFromMemory: new Counter({
    name: 'admission_answers_from_memory_total', help: 'Issue answers given without Redis: the coupon is sold out or closed and this process knows its holders (also counted in admission_outcomes_total)',
    labelNames: ['code'], registers,
  }),
  admissionDuration: new Histogram({ name: 'admission_duration_seconds', help: 'Time from sending a decision to Redis to its answer, retries included', labelNames: ['decision'], buckets: LATENCY_BUCKETS, registers }),
  relayBatches: new Counter({ name: 'relay_batches_total', help: 'Outbox batches the relay produced to Kafka and removed from the outbox', registers }),
  relayEventsSent: new Counter({ name: 'relay_events_sent_total', help: 'Events the relay produced to Kafka', registers }),
  relayDeadLetters: new Counter({ name: 'relay_dead_letters_total', help: 'Outbox entries the relay could not turn into events (moved aside)', registers }),
  relayRetries: new Counter({ name: 'relay_retries_total', help: 'Relay rounds that failed and were tried again (Kafka or Redis unavailable)', registers }),
  relayProduceDuration: new Histogram({ name: 'relay_produce_duration_seconds', help: 'Time for Kafka to acknowledge one batch (acks=all)', buckets: LATENCY_BUCKETS, registers }),
  projectorApplied: new Counter({ name: 'projector_events_applied_total', help: 'Events applied to a read model (each projection counts the events it handles)', labelNames: ['projection'], registers }),
  projectorDeadLetters: new Counter({ name: 'projector_dead_letters_total', help: 'Events a projection could not apply (recorded in projection_dead_letter)', labelNames: ['projection'], registers }),
  noticesRaised: new Counter({ name: 'notices_raised_total', help: 'Notices raised, by kind', labelNames: ['kind'], registers }),
  deliveries: new Counter({ name: 'notice_deliveries_total', help: 'Notice delivery attempts, by channel and result', labelNames: ['channel', 'status'], registers }),
};

/** A gauge read when scraped (outbox depth, projection lag): registered once per process, by the first role that can read it. */
export function gaugeOnScrape(name: string, help: string, labelNames: string[], read: () => Promise<{ labels: Record<string, string | number>; value: number }[]>): void {
  if (registry.getSingleMetric(name)) return;
  new Gauge({
    name, help, labelNames, registers,
    async collect() {
      this.reset();
      try {
        for (const { labels, value } of await read()) this.set(labels, value);
      } catch {
        // A dependency that does not answer leaves the gauge empty for this scrape; /readyz says why.
      }
    },
  });
}
