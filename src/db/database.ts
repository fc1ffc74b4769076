import { Kysely, MysqlDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export function connectDatabase(url: string, connectionLimit = 20): Db {
  const pool = createPool({
    uri: url,
    connectionLimit,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: 3_000,
    // Affected rows then count rows really inserted or changed: a duplicate left as it was counts 0,
    // which is how signup tells a taken email and the expiry scan counts new notices.
    flags: ['-FOUND_ROWS'],
  });
  return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
}

export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
