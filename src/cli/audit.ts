import '../runtime/pinned-node.ts';
import { parseArgs } from 'node:util';
import { auditPassed, runAudit, type AuditReport } from '../audit/run-audit.ts';
import { isCouponId } from '../ids/ids.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { closeRuntime, logAndStores, openRuntime } from '../runtime/runtime.ts';
import { resolveConfig } from '../stack/resolve-config.ts';
import { progressBar } from './progress-bar.ts';

const { values } = parseArgs({ options: { coupon: { type: 'string' } } });
if (values.coupon && !isCouponId(values.coupon)) {
  process.stderr.write(`--coupon must be a coupon id, got ${values.coupon}\n`);
  process.exit(2);
}
const config = await resolveConfig(loadConfig(), 'dev', () => undefined);
const runtime = await openRuntime(config, createLogger('warn', 'audit'));
const say = (line: string) => process.stdout.write(`${line}\n`);

function section(title: string, lines: string[]): void {
  say(`\n${lines.length === 0 ? 'OK  ' : 'FAIL'} ${title}${lines.length ? ` (${lines.length})` : ''}`);
  for (const line of lines.slice(0, 50)) say(`     ${line}`);
  if (lines.length > 50) say(`     … and ${lines.length - 50} more`);
}

let report: AuditReport;
try {
  const started = Date.now();
  report = await runAudit(logAndStores(runtime), values.coupon, progressBar('audit'));
  say(`Audit of ${config.kafka.topic}${values.coupon ? ` for coupon ${values.coupon}` : ''}: ${report.events} events, ` +
    `${report.coupons} coupons, ${report.duplicates} redelivered copies ignored, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  section('invariants: no over-issue, one per user, uses by the holder once inside validity, issues inside the window and before close', report.violations);
  section('read models (coupon, issued_coupon) equal the log up to their checkpoints', report.readModelDifferences);
  section('Redis admission state equals the log (and the outbox) as of when it was read', report.redisDifferences);
} finally {
  await closeRuntime(runtime);
}
say(auditPassed(report) ? '\nThe audit passed.' : '\nThe audit FAILED.');
process.exit(auditPassed(report) ? 0 : 1);
