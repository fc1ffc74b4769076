import * as assert from 'uvu/assert';
import { PROJECTIONS } from '../../projections/projections.ts';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { scrape } from '../support/prometheus-text.ts';
import { spec } from '../support/spec.ts';

const metricsSpec = spec('Prometheus metrics count what happened', () => Harness.start({ relay: true }));

const ISSUE_ROUTE = { method: 'POST', route: '/coupons/:couponId/issue' };

metricsSpec('given a coupon of 50, when 80 users ask at once and 10 of the winners ask again, then the API\'s counters equal the answers it gave', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 50 });
  await harness.drained(couponId);
  const before = await scrape(harness.api.url);
  const tokens = await Promise.all(Array.from({ length: 80 }, (_, i) => harness.token(`metrics-${i}`)));
  const ask = (token: string) => harness.request('POST', `/coupons/${couponId}/issue`, { token });
  const first = await Promise.all(tokens.map(ask));
  const winners = tokens.filter((_, i) => first[i]!.status === 201).slice(0, 10);
  const again = await Promise.all(winners.map(ask));
  const answers = [...first, ...again];
  const seen = (status: number, code?: string) => answers.filter((a) => a.status === status && (code === undefined || a.body.code === code)).length;
  assert.is(seen(201), 50);

  const after = await scrape(harness.api.url);
  const delta = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
  assert.is(delta('admission_outcomes_total', { decision: 'issue', code: 'ISSUED' }), seen(201));
  assert.is(delta('admission_outcomes_total', { decision: 'issue', code: 'SOLD_OUT' }), seen(409, 'SOLD_OUT'));
  assert.is(delta('admission_outcomes_total', { decision: 'issue', code: 'ALREADY_ISSUED' }), seen(409, 'ALREADY_ISSUED'));
  assert.ok(seen(409, 'SOLD_OUT') > 0 && seen(409, 'ALREADY_ISSUED') === 10, 'the traffic caused both kinds of 409');
  assert.is(delta('http_requests_total', { ...ISSUE_ROUTE, status: '201' }), 50);
  assert.is(delta('http_requests_total', { ...ISSUE_ROUTE, status: '409' }), seen(409));
  assert.is(delta('http_request_duration_seconds_count', ISSUE_ROUTE), answers.length, 'every answer timed');
  assert.is(delta('admission_duration_seconds_count', { decision: 'issue' }) + delta('admission_answers_from_memory_total', {}), answers.length,
    'every answer either timed in Redis or given from memory (a sold-out coupon)');
  assert.ok(after.has('process_cpu_seconds_total') && after.has('nodejs_eventloop_lag_p99_seconds'), 'default process metrics');

  // What the relay did with them: the created coupon and the 50 admissions, and the outbox empty again.
  await harness.drained(couponId);
  const relayed = await scrape(harness.api.url);
  assert.is(relayed.value('relay_events_sent_total') - before.value('relay_events_sent_total'), 50);
  assert.ok(relayed.value('relay_batches_total') > before.value('relay_batches_total'));
  assert.is(relayed.value('relay_produce_duration_seconds_count') - before.value('relay_produce_duration_seconds_count'),
    relayed.value('relay_batches_total') - before.value('relay_batches_total'), 'one produce per batch');
  assert.is(relayed.value('outbox_pending'), 0);
  assert.is(relayed.value('outbox_pending', { shard: '0' }), 0);
  assert.ok(/outbox_pending\{shard="15"\}/.test(relayed.text), 'a series for every shard');
});

metricsSpec('given events in the log, when a separate projector process applies them, then its own /metrics on METRICS_PORT counts each applied event and shows its lag reach 0', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 30 });
  const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => harness.token(`projected-${i}`)));
  await Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
  await harness.drained(couponId);
  const log = await harness.allEvents();
  const handledBy = (name: string) => log.filter((e) => PROJECTIONS.find((p) => p.name === name)!.handles.includes(e.type)).length;

  const projector = await spawnApp({ ROLES: 'projector', LOG_LEVEL: 'warn', METRICS_PORT: '0' });
  try {
    const progress = async () => {
      const s = await scrape(projector.url);
      // The read models this process keeps; the notifier's projection lags here, as nothing runs it.
      const lag = s.value('projection_lag_events', { projection: 'coupon' }) + s.value('projection_lag_events', { projection: 'issued_coupon' });
      const applied = s.value('projector_events_applied_total', { projection: 'issued_coupon' });
      return { lagSeries: s.has('projection_lag_events'), lag, applied, expected: handledBy('issued_coupon'), s };
    };
    const { s: done } = await eventually('the projector process to apply the whole log', progress,
      (p) => p.lagSeries && p.lag === 0 && p.applied >= p.expected, { timeoutMs: 60_000, everyMs: 250 });
    for (const name of ['coupon', 'issued_coupon']) {
      assert.is(done.value('projector_events_applied_total', { projection: name }), handledBy(name), `${name}: each event it handles applied once`);
    }
    assert.ok(handledBy('issued_coupon') >= 30, 'at least the 30 issues of this test');
    assert.is(done.value('projector_dead_letters_total'), 0);
    assert.is(done.value('http_requests_total', { route: '/coupons/:couponId/issue' }), 0, 'the API\'s traffic is not in the projector\'s numbers');
    assert.ok(/projection_lag_events\{projection="issued_coupon",partition="0"\} 0/.test(done.text), done.text.slice(0, 500));
  } finally {
    await projector.stop();
  }
});

metricsSpec.run();
