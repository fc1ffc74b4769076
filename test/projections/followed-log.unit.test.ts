import * as assert from 'uvu/assert';
import type { LogIdentity } from '../../src/kafka/log-identity.ts';
import { foreignCheckpoints, LogMismatchError, problemsWith, REBUILD_COMMAND, type CheckpointRow } from '../../src/projector/followed-log.ts';
import { spec } from '../support/spec.ts';

const judged = spec('which log a checkpoint belongs to');

const log: LogIdentity = {
  clusterId: 'cluster-B',
  partitions: new Map([[0, { start: 0n, end: 50n, firstRecord: 'f0' }], [1, { start: 0n, end: 0n, firstRecord: null }]]),
};
const row = (over: Partial<CheckpointRow>): CheckpointRow => ({
  projection: 'coupon', partition_no: 0, next_offset: '10', log_cluster_id: 'cluster-B', log_first_record: 'f0', ...over,
});
const reasons = (rows: CheckpointRow[]) => problemsWith(rows, log).map((p) => `${p.projection}/${p.partition}: ${p.reason}`);

judged('written against this log, at or before its end: no problem; past its end, another cluster, another first record: each said', () => {
  assert.equal(reasons([row({}), row({ next_offset: '50' })]), []);
  assert.equal(reasons([row({ next_offset: '51' })]), ["coupon/0: checkpoint at offset 51 is past the log's end (50)"]);
  assert.equal(reasons([row({ log_cluster_id: 'cluster-A' })]), ['coupon/0: written against Kafka cluster cluster-A, the brokers are cluster cluster-B']);
  assert.equal(reasons([row({ log_first_record: 'other' })]), ["coupon/0: the log's first record is not the one the read model began with"]);
  assert.equal(reasons([row({ partition_no: 1, next_offset: '3' })]), ["coupon/1: checkpoint at offset 3 is past the log's end (0)"]);
  assert.equal(reasons([row({ partition_no: 7, next_offset: '3' })]), ['coupon/7: checkpoint at offset 3 in a partition the log does not have (it has 2)']);
});

judged('a checkpoint at offset 0 has applied nothing and fits any log; one from before identities were recorded is judged by its offset', () => {
  assert.equal(reasons([row({ next_offset: 0, log_cluster_id: 'cluster-A', log_first_record: 'x', partition_no: 9 })]), []);
  assert.equal(reasons([row({ log_cluster_id: null, log_first_record: null })]), []);
  assert.equal(reasons([row({ log_cluster_id: null, log_first_record: null, next_offset: 60 })]), ["coupon/0: checkpoint at offset 60 is past the log's end (50)"]);
});

judged('a batch refuses checkpoints recorded against another log than the one it was read from', () => {
  assert.equal(foreignCheckpoints([row({}), row({ next_offset: 0, log_first_record: 'x' })], { clusterId: 'cluster-B', firstRecord: 'f0' }), []);
  assert.equal(foreignCheckpoints([row({ projection: 'issued_coupon' })], { clusterId: 'cluster-B', firstRecord: 'f1' }).map((p) => p.projection), ['issued_coupon']);
});

judged('the error names the read models, what is wrong, and the command that fixes it', () => {
  const error = new LogMismatchError('coupon.events', problemsWith([row({ next_offset: 51 }), row({ projection: 'issued_coupon', log_cluster_id: 'cluster-A' })], log));
  assert.match(error.message, 'the read models coupon, issued_coupon were built from another log than topic coupon.events');
  assert.match(error.message, "coupon partition 0: checkpoint at offset 51 is past the log's end (50)");
  assert.ok(error.message.endsWith(`Rebuild them from this log: ${REBUILD_COMMAND}`), error.message);
});

judged.run();
