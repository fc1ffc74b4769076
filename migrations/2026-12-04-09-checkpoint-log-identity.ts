import type { Kysely } from 'kysely';

/**
 * Which log a checkpoint was written against: the Kafka cluster's id and a fingerprint of the partition's first
 * record. Offsets alone do not tell a topic created again, or another Kafka cluster, from the log a read
 * model was built from. NULL in rows from before: the projector records them at its next start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('projection_checkpoint').addColumn('log_cluster_id', 'varchar(64)').execute();
  await db.schema.alterTable('projection_checkpoint').addColumn('log_first_record', 'char(64)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('projection_checkpoint').dropColumn('log_first_record').execute();
  await db.schema.alterTable('projection_checkpoint').dropColumn('log_cluster_id').execute();
}
