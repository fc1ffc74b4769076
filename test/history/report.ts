import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Anomaly, LoggedEvent } from './checker.ts';
import type { Injected } from './faults.ts';
import { describeAnswer } from './model.ts';
import type { Operation } from './recorder.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const POINTS_SHOWN = 12;
const EXAMPLES_SHOWN = 3;

export function describeOperation(op: Operation): string {
  const params = Object.fromEntries(Object.entries(op.params).filter(([k, v]) => v !== undefined && k !== 'definition' && k !== 'userIds'));
  const key = `${op.key ? ` Idempotency-Key ${op.key}` : ''}${op.api ? ` to ${op.api}` : ''}`;
  return `request ${op.id}: ${op.actor.role} ${op.actor.userId} ${op.kind} ${JSON.stringify(params)}${key}, sent ${iso(op.invokedAt)}, ` +
    `answered ${iso(op.completedAt)}: ${describeAnswer(op.answer)}`;
}

/** An anomaly's kind: what it says with its ids, instants and particulars left out. */
function kindOf(a: Anomaly): string {
  const what = a.what.replace(/ \{.*\}/g, '').replace(/\(.*\)/g, '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}\S*/g, '…').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '…');
  return `${a.op ? `${a.op.kind}: ` : a.event ? `${a.event.type}: ` : ''}${what.trim()}`;
}

function printOne(a: Anomaly, say: (line: string) => void): void {
  say(`\n  coupon ${a.couponId || '(none)'}: ${a.what}`);
  if (a.op) say(`    ${describeOperation(a.op)}`);
  if (a.event) say(`    event ${a.event.type} ${a.event.eventId} at ${a.event.occurredAt} by request ${a.event.meta.requestId}: ${JSON.stringify(a.event.data)}`);
  const points = a.points ?? [];
  for (const p of points.slice(0, POINTS_SHOWN)) say(`      ${p}`);
  if (points.length > POINTS_SHOWN) say(`      … and ${points.length - POINTS_SHOWN} more points`);
}

/**
 * The anomalies by kind, then a few of each in full: what is wrong, the request and its answer, the event,
 * and what the rules answer at each point where it could have been decided. The history file has them all.
 */
export function printAnomalies(anomalies: Anomaly[], say: (line: string) => void): void {
  const byKind = new Map<string, Anomaly[]>();
  for (const a of anomalies) byKind.set(kindOf(a), [...(byKind.get(kindOf(a)) ?? []), a]);
  for (const [kind, all] of byKind) {
    say(`\n${all.length} × ${kind}`);
    for (const a of all.slice(0, EXAMPLES_SHOWN)) printOne(a, say);
  }
}

/** Everything the check saw, so a failing run can be read again (and cut down to the requests that show it). */
export function writeHistory(file: string, run: { seed: number; operations: Operation[]; log: LoggedEvent[]; faults: Injected[]; anomalies: Anomaly[] }): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(run));
}
