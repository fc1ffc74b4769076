import '../runtime/pinned-node.ts';
import { loadConfig } from '../config/config.ts';
import { connectDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { resolveConfig } from '../stack/resolve-config.ts';

const log = (line: string) => process.stdout.write(`${line}\n`);
const config = await resolveConfig(loadConfig(), 'dev', log);
const db = connectDatabase(config.mysqlUrl, 2);
try {
  const results = await migrateToLatest(db);
  log(results.length === 0 ? 'schema is up to date' : results.map((r) => `${r.status}: ${r.migrationName}`).join('\n'));
} finally {
  await db.destroy();
}
