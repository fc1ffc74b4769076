import '../runtime/pinned-node.ts';
import { parseArgs } from 'node:util';
import { ALL_PROJECTIONS, PROJECTIONS, projectionNamed } from '../../projections/projections.ts';
import { loadConfig } from '../config/config.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createLogger } from '../log/logger.ts';
import { projectionStatuses } from '../projector/projection-status.ts';
import { followThisLog, rebuildProjections } from '../projector/rebuild.ts';
import { closeRuntime, openRuntime } from '../runtime/runtime.ts';
import { resolveConfig } from '../stack/resolve-config.ts';
import { progressBar } from './progress-bar.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'as-of': { type: 'string' } } });
const [command, ...names] = positionals;
const usage = 'usage: npm run projections -- status | rebuild [name …] [--as-of 2026-12-01T00:00:00Z]';
if (command !== 'status' && command !== 'rebuild') {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}
const asOf = values['as-of'] ? new Date(values['as-of']) : undefined;
if (asOf && Number.isNaN(asOf.getTime())) {
  process.stderr.write(`--as-of must be an ISO 8601 time, got ${values['as-of']}\n`);
  process.exit(2);
}
const config = await resolveConfig(loadConfig(), 'dev', () => undefined);
const runtime = await openRuntime(config, createLogger('warn', 'projections'));
const say = (line: string) => process.stdout.write(`${line}\n`);
try {
  await migrateToLatest(runtime.db);
  if (command === 'status') {
    for (const s of await projectionStatuses(runtime.db, runtime.kafka, config.kafka.topic)) {
      say(`${s.name.padEnd(16)} ${s.status.padEnd(12)} lag ${String(s.lag).padStart(8)}  last event ${s.lastEventAt ?? '-'}  dead letters ${s.deadLetters}`);
      if (s.problem) say(`${''.padEnd(16)} built from another log than ${config.kafka.topic} on these brokers (${s.problem})`);
    }
  } else {
    const targets = names.length > 0 ? names.map(projectionNamed) : PROJECTIONS;
    const label = targets.map((p) => p.name).join('+');
    const result = await rebuildProjections({ db: runtime.db, kafka: runtime.kafka, topic: config.kafka.topic }, targets, {
      asOf,
      onProgress: progressBar(label),
    });
    say(`${label}: ${result.events} events in ${result.seconds.toFixed(1)} s ` +
      `(${Math.round(result.events / Math.max(result.seconds, 0.001))} ev/s) -> ${result.tables.join(', ')}${result.swapped ? ' (swapped in)' : ''}`);
    if (!asOf) {
      const notRebuilt = ALL_PROJECTIONS.filter((p) => !PROJECTIONS.includes(p)).map((p) => p.name);
      for (const name of await followThisLog(runtime.db, runtime.kafka, config.kafka.topic, notRebuilt)) {
        say(`${name}: followed another log; reads this one from its start (what it raised before stays, nothing is raised twice)`);
      }
    }
  }
} finally {
  await closeRuntime(runtime);
}
