import '../runtime/pinned-node.ts';
import { parseArgs } from 'node:util';
import { isCouponId } from '../ids/ids.ts';
import { ADMISSION_MARKER, AdmissionRecovery } from '../coupons/recovery/admission-recovery.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { closeRuntime, logAndStores, openRuntime } from '../runtime/runtime.ts';
import { resolveConfig } from '../stack/resolve-config.ts';

const { values } = parseArgs({ options: { coupon: { type: 'string', multiple: true } } });
const only = values.coupon;
if (only?.some((id) => !isCouponId(id))) {
  process.stderr.write('--coupon takes coupon ids\n');
  process.exit(2);
}
const config = await resolveConfig(loadConfig(), 'dev', () => undefined);
const runtime = await openRuntime(config, createLogger('warn', 'restore-admission'));
try {
  const recovery = new AdmissionRecovery(logAndStores(runtime));
  const restored = await recovery.restore(only);
  if (!only) await runtime.redis.set(ADMISSION_MARKER, new Date().toISOString());
  process.stdout.write(`restored ${restored.length} coupon(s) into Redis from the log; coupons Redis still held were left as they were\n`);
} finally {
  await closeRuntime(runtime);
}
