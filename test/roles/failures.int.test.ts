import { sql } from 'kysely';
import * as assert from 'uvu/assert';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { partitionFor } from '../../src/kafka/kafka-client.ts';
import { projectionLock } from '../../src/projector/apply-batch.ts';
import { CRASH_EXIT_CODE } from '../../src/runtime/crash-policy.ts';
import { Harness } from '../support/api-harness.ts';
import { spawnApp } from '../support/app-process.ts';
import { eventually } from '../support/eventually.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const failures = spec('no silent failure in a worker process', async () => (harness = await Harness.start({ relay: true })));

const fault = new URL('../support/faults/stray-rejection-in-projector.ts', import.meta.url).pathname;

failures('a rejection nobody handles in the projector\'s loop ends the process non-zero, saying why; restarted, it applies every event once', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5_000 });
  let fed = 0;
  const feed = async (count: number) => {
    const users = Array.from({ length: count }, (_, i) => `fault-${fed + i}`);
    fed += count;
    await issueMany(harness, couponId, users);
  };
  await feed(100);
  const doomed = await spawnApp({ ROLES: 'projector', LOG_LEVEL: 'info' }, 60_000, [fault]);
  // Batches keep coming until the fault fires (after its consumer's third batch), however fast it joins.
  let crashed = false;
  const traffic = (async () => {
    while (!crashed && fed < 4_900) await feed(20);
  })();
  const { code } = await doomed.exitedWithin(90_000, 'the injected rejection ends the process');
  crashed = true;
  await traffic;
  assert.is(code, CRASH_EXIT_CODE, doomed.output());
  assert.match(doomed.output(), /"level":60.*injected fault: a rejection nobody handles.*unhandled promise rejection; exiting so the process is restarted/);
  await feed(100);

  const restarted = await spawnApp({ ROLES: 'projector', LOG_LEVEL: 'warn' });
  try {
    await harness.drained(couponId);
    await harness.projected();
  } finally {
    await restarted.stop();
  }
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report, null, 2));
  const rows = await harness.runtime.db.selectFrom('issued_coupon').select((eb) => eb.fn.countAll<number>().as('n')).where('coupon_id', '=', couponId).executeTakeFirstOrThrow();
  assert.is(Number(rows.n), fed, 'one row per issued coupon, none twice');
});

failures('a projector stuck waiting for a lock answers /readyz 503 LOOP_STUCK on its metrics port, and 200 once it moves again', async () => {
  const projector = await spawnApp({ ROLES: 'projector', LOG_LEVEL: 'warn', METRICS_PORT: '0', LIVENESS_STALL_MS: '1500' });
  const readyz = async () => {
    const res = await fetch(`${projector.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    await eventually('the projector to be ready', readyz, (r) => r.status === 200, { timeoutMs: 30_000, everyMs: 100 });
    const couponId = await harness.createCoupon({ totalQuantity: 50 });
    await harness.drained(couponId);
    await harness.projected();
    const lock = projectionLock('projection:coupon', partitionFor(couponId, harness.runtime.config.kafka.partitions));
    await harness.runtime.db.connection().execute(async (connection) => {
      // Another session holds the lock a batch of this partition needs (as a long rebuild swap would).
      const { rows } = await sql<{ locked: number }>`SELECT GET_LOCK(${lock}, 5) AS locked`.execute(connection);
      assert.is(rows[0]?.locked, 1);
      try {
        await issueMany(harness, couponId, Array.from({ length: 20 }, (_, i) => `stuck-${i}`));
        const stuck = await eventually('/readyz to say the projector is stuck', readyz, (r) => r.status === 503, { timeoutMs: 20_000, everyMs: 200 });
        assert.is(stuck.body.code, 'LOOP_STUCK');
        assert.equal((stuck.body.stuck as { loop: string }[]).map((s) => s.loop), ['projector']);
      } finally {
        await sql`SELECT RELEASE_LOCK(${lock})`.execute(connection);
      }
    });
    await eventually('/readyz to answer 200 once the projector moves again', readyz, (r) => r.status === 200, { timeoutMs: 20_000, everyMs: 200 });
    await harness.projected();
  } finally {
    await projector.stop();
  }
});

failures.run();
