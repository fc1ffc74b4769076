import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Anomaly, LoggedEvent } from './checker.ts';
import type { Injected } from './faults.ts';
import { describeAnswer } from './model.ts';
import type { Operation } from './recorder.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const POINTS_SHOWN = 12;

export function describeOperation(op: Operation): string {
  const params = Object.fromEntries(Object.entries(op.params).filter(([k, v]) => v !== undefined && k !== 'definition'));
  const key = op.key ? ` Idempotency-Key ${op.key}` : '';
  return `request ${op.id}: ${op.actor.role} ${op.actor.userId} ${op.kind} ${JSON.stringify(params)}${key}, sent ${iso(op.invokedAt)}, ` +
    `answered ${iso(op.completedAt)}: ${describeAnswer(op.answer)}`;
}

/** Each anomaly: what is wrong, the request and its answer, the event, and what the rules said at each admissible point. */
export function printAnomalies(anomalies: Anomaly[], say: (line: string) => void, limit = 40): void {
  for (const [i, a] of anomalies.slice(0, limit).entries()) {
    say(`\nanomaly ${i + 1}, coupon ${a.couponId || '(none)'}: ${a.what}`);
    if (a.op) say(`  ${describeOperation(a.op)}`);
    if (a.event) say(`  event ${a.event.type} ${a.event.eventId} at ${a.event.occurredAt} by request ${a.event.meta.requestId}: ${JSON.stringify(a.event.data)}`);
    const points = a.points ?? [];
    for (const p of points.slice(0, POINTS_SHOWN)) say(`    ${p}`);
    if (points.length > POINTS_SHOWN) say(`    … and ${points.length - POINTS_SHOWN} more points`);
  }
  if (anomalies.length > limit) say(`\n… and ${anomalies.length - limit} more anomalies`);
}

/** Everything the check saw, so a failing run can be read again (and cut down to the requests that show it). */
export function writeHistory(file: string, run: { seed: number; operations: Operation[]; log: LoggedEvent[]; faults: Injected[]; anomalies: Anomaly[] }): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(run));
}
