import * as assert from 'uvu/assert';
import { notificationProjection } from '../../projections/notification/notification-projection.ts';
import { PROJECTIONS } from '../../projections/projections.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { AdmissionRecovery } from '../../src/coupons/recovery/admission-recovery.ts';
import { partitionFor } from '../../src/kafka/kafka-client.ts';
import { fingerprint } from '../../src/kafka/log-identity.ts';
import { eventLogTopics } from '../../src/kafka/topics.ts';
import { liveRun } from '../../src/projector/apply-batch.ts';
import { LogMismatchError, REBUILD_COMMAND } from '../../src/projector/followed-log.ts';
import { DependencyUnavailable } from '../../src/dependencies/dependency-unavailable.ts';
import { projectionStatuses } from '../../src/projector/projection-status.ts';
import { startProjector, type RunningProjector } from '../../src/projector/projector.ts';
import { CRASH_EXIT_CODE } from '../../src/runtime/crash-policy.ts';
import { logAndStores } from '../../src/runtime/runtime.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli, spawnApp } from '../support/app-process.ts';
import { issueMany } from '../support/log-assertions.ts';
import { spec } from '../support/spec.ts';

/**
 * Read models know which log they follow. The topic is deleted and created again under checkpoints written
 * against the first one: empty (checkpoints past its end), then longer than before in every partition
 * (offsets that fit, first records that do not). Projector and restore refuse both, naming the rebuild.
 */
let harness!: Harness;
const identity = spec('read models that belong to another log', async () => (harness = await Harness.start({ relay: true })));

const READ_MODELS = ['coupon', 'issued_coupon', 'coupon_history'];
const WITH_NOTICES = [...READ_MODELS, 'notification'];
const before: string[] = [];
const after: string[] = [];

/**
 * Coupons until every partition has one; the first of each is issued to `users` users, so every partition's
 * log holds more than `users` events (and at most the coupons created there more). Answers every coupon made.
 */
async function couponsInEveryPartition(users: number, round: string): Promise<string[]> {
  const { partitions } = harness.runtime.config.kafka;
  const firstOf = new Map<number, string>();
  const coupons: string[] = [];
  while (firstOf.size < partitions) {
    const couponId = await harness.createCoupon({ totalQuantity: 100 });
    coupons.push(couponId);
    if (!firstOf.has(partitionFor(couponId, partitions))) firstOf.set(partitionFor(couponId, partitions), couponId);
  }
  for (const couponId of firstOf.values()) await issueMany(harness, couponId, Array.from({ length: users }, (_, i) => `${round}-${couponId.slice(-6)}-${i}`));
  for (const couponId of coupons) await harness.drained(couponId);
  return coupons;
}

const project = () => startProjector(harness.runtime, PROJECTIONS.map(liveRun));
/** The notifier's projection of the log: notices, not rebuilt, checkpointed the same way. */
const notice = () => startProjector(harness.runtime, [liveRun(notificationProjection)], 'notifier');

async function refusal(attempt: Promise<unknown>): Promise<LogMismatchError> {
  try {
    const started = await attempt;
    await (started as RunningProjector | undefined)?.stop?.();
  } catch (error) {
    // A request's own restore answers 503 (kafka), carrying the refusal as its cause.
    const mismatch = error instanceof DependencyUnavailable && error.dependency === 'kafka' ? error.cause : error;
    assert.instance(mismatch, LogMismatchError, String(error));
    assert.ok((mismatch as Error).message.endsWith(`Rebuild them from this log: ${REBUILD_COMMAND}`), (mismatch as Error).message);
    return mismatch as LogMismatchError;
  }
  return assert.unreachable('it was not refused') as never;
}

async function recreateTopic(): Promise<void> {
  await harness.stopRelay();
  await harness.runtime.kafka.deleteTopics([harness.runtime.config.kafka.topic]);
  await harness.runtime.kafka.ensureTopics(eventLogTopics(harness.runtime.config));
}

async function assertRestoreRefused(couponId: string): Promise<void> {
  const recovery = new AdmissionRecovery(logAndStores(harness.runtime));
  const keys = couponKeys(couponId, harness.runtime.config.admission.shards);
  const held = await harness.runtime.redis.hgetall(keys.coupon);
  await harness.runtime.redis.del(keys.coupon);
  try {
    // The coupon table knows it, Redis does not: what a request for it would trigger, and a full restore.
    await refusal(recovery.recoverIfLost(couponId));
    await refusal(recovery.restore());
    assert.is(await harness.runtime.redis.exists(keys.coupon), 0, 'nothing restored from read models of another log');
  } finally {
    await harness.runtime.redis.hset(keys.coupon, held);
  }
}

identity('a projector starting on a fresh topic records the log it follows once records exist: the cluster id and each partition\'s first record', async () => {
  const projectors = [await project(), await notice()];
  before.push(...(await couponsInEveryPartition(8, 'before')));
  await harness.projected(60_000, WITH_NOTICES);
  for (const projector of projectors) await projector.stop();
  const { kafka, db, config } = harness.runtime;
  const rows = await db.selectFrom('projection_checkpoint').selectAll().where('topic', '=', config.kafka.topic).where('projection', 'in', WITH_NOTICES).execute();
  assert.is(rows.length, WITH_NOTICES.length * config.kafka.partitions);
  const clusterId = await kafka.clusterId();
  for (const row of rows) {
    const [first] = await kafka.readToEnd(config.kafka.topic, row.partition_no, 0n);
    assert.equal([row.projection, row.partition_no, row.log_cluster_id, row.log_first_record], [row.projection, row.partition_no, clusterId, fingerprint(first!)]);
  }
});

identity('the topic deleted and created again, empty: the projector refuses to start (checkpoints past the log\'s end), status says so, restore refuses', async () => {
  await recreateTopic();
  const error = await refusal(project());
  assert.equal([...new Set(error.problems.map((p) => p.projection))].sort(), [...READ_MODELS].sort());
  assert.ok(error.problems.every((p) => /^checkpoint at offset \d+ is past the log's end \(0\)$/.test(p.reason)), JSON.stringify(error.problems));
  assert.equal((await refusal(notice())).problems.map((p) => p.projection)[0], 'notification');
  const statuses = await projectionStatuses(harness.runtime.db, harness.runtime.kafka, harness.runtime.config.kafka.topic);
  for (const name of WITH_NOTICES) {
    const status = statuses.find((s) => s.name === name)!;
    assert.is(status.status, 'other-log', JSON.stringify(status));
    assert.match(status.problem!, `past the log's end (0); ${REBUILD_COMMAND}`);
  }
  const { output } = await runCli('projections', ['status']);
  assert.match(output, /coupon\s+other-log\s+lag\s+-\d+/);
  assert.match(output, `built from another log than ${harness.runtime.config.kafka.topic} on these brokers (partition 0: checkpoint at offset`);
  await assertRestoreRefused(before[0]!);
});

identity('the topic filled again past every checkpoint with other events: the projector and restore refuse (the first records differ)', async () => {
  await harness.startRelay();
  after.push(...(await couponsInEveryPartition(40, 'after')));
  const ends = await harness.runtime.kafka.endOffsets(harness.runtime.config.kafka.topic);
  const checkpoints = await harness.runtime.db.selectFrom('projection_checkpoint').select(['partition_no', 'next_offset'])
    .where('topic', '=', harness.runtime.config.kafka.topic).execute();
  assert.ok(checkpoints.every((c) => BigInt(c.next_offset) <= ends.get(c.partition_no)!), 'every offset fits the new log');
  const error = await refusal(project());
  assert.is(error.problems.length, READ_MODELS.length * harness.runtime.config.kafka.partitions);
  assert.ok(error.problems.every((p) => p.reason === "the log's first record is not the one the read model began with"), JSON.stringify(error.problems));
  await assertRestoreRefused(before[0]!);
});

identity('the command the refusal names adopts this log: then the projectors run, the read models hold this log\'s coupons only, and restore runs', async () => {
  const { db, kafka, config } = harness.runtime;
  const rebuilt = await runCli('projections', ['rebuild']);
  assert.is(rebuilt.code, 0, rebuilt.output);
  assert.match(rebuilt.output, "notification: followed another log; reads this one from its start");
  const projectors = [await project(), await notice()];
  try {
    const late = await harness.createCoupon({ totalQuantity: 5 });
    await issueMany(harness, late, ['late-1', 'late-2']);
    await harness.drained(late);
    await harness.projected(60_000, WITH_NOTICES);
    const coupons = await db.selectFrom('coupon').select(['id', 'issued_count']).execute();
    assert.equal(coupons.map((c) => c.id).sort(), [...after, late].sort());
    assert.equal(coupons.find((c) => c.id === late)?.issued_count, 2);
  } finally {
    for (const projector of projectors) await projector.stop();
  }
  const statuses = await projectionStatuses(db, kafka, config.kafka.topic);
  assert.equal(statuses.filter((s) => WITH_NOTICES.includes(s.name)).map((s) => s.status), ['up-to-date', 'up-to-date', 'up-to-date', 'up-to-date']);
  await harness.runtime.redis.del(couponKeys(after[0]!, config.admission.shards).coupon);
  assert.ok(await new AdmissionRecovery(logAndStores(harness.runtime)).recoverIfLost(after[0]!), 'a coupon of this log is restored');
});

identity('a projector process running when the topic is deleted and created again ends with a fatal line naming the rebuild, exit 70', async () => {
  const running = await spawnApp({ ROLES: 'projector', LOG_LEVEL: 'info' });
  try {
    await harness.projected(60_000, READ_MODELS);
    await recreateTopic();
    await harness.startRelay();
    await couponsInEveryPartition(1, 'under');
    const { code } = await running.exitedWithin(60_000, 'the projector ends on read models of another log');
    assert.is(code, CRASH_EXIT_CODE, running.output());
    assert.match(running.output(), /"level":60.*built from another log than topic .* Rebuild them from this log: npm run projections -- rebuild/);
  } finally {
    await running.stop();
  }
});

identity('a running projector never extends a checkpoint recorded against another log (a rebuild swapped in while it followed the old one): it ends, exit 70', async () => {
  assert.is((await runCli('projections', ['rebuild'])).code, 0);
  const running = await spawnApp({ ROLES: 'projector', LOG_LEVEL: 'info' });
  try {
    await harness.projected(60_000, READ_MODELS);
    await harness.runtime.db.updateTable('projection_checkpoint').set({ log_first_record: 'f'.repeat(64) })
      .where('topic', '=', harness.runtime.config.kafka.topic).where('projection', '=', 'issued_coupon').execute();
    await couponsInEveryPartition(1, 'swapped');
    const { code } = await running.exitedWithin(30_000, 'the projector refuses the batch');
    assert.is(code, CRASH_EXIT_CODE, running.output());
    assert.match(running.output(), /"level":60.*issued_coupon partition \d+: the log's first record is not the one the read model began with.*npm run projections -- rebuild/);
  } finally {
    await running.stop();
  }
});

identity.run();
