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
  });
  return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
}

export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
