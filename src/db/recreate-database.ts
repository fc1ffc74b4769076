import { createConnection } from 'mysql2/promise';

async function onServer(mysqlUrl: string, statements: string[]): Promise<void> {
  const url = new URL(mysqlUrl);
  const server = await createConnection({ host: url.hostname, port: Number(url.port), user: url.username, password: url.password });
  try {
    for (const statement of statements) await server.query(statement);
  } finally {
    await server.end();
  }
}

/**
 * Drops and creates a database on the server of `mysqlUrl` and returns the URL that points at it. For
 * tooling that owns its data: the test run's reset and the benchmarks' scratch databases.
 */
export async function recreateDatabase(mysqlUrl: string, name = new URL(mysqlUrl).pathname.slice(1)): Promise<string> {
  await onServer(mysqlUrl, [`DROP DATABASE IF EXISTS \`${name}\``, `CREATE DATABASE \`${name}\``]);
  const url = new URL(mysqlUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates the database `mysqlUrl` names if the server lacks it (a local MariaDB started before that database was one of its own). */
export async function ensureDatabase(mysqlUrl: string): Promise<void> {
  await onServer(mysqlUrl, [`CREATE DATABASE IF NOT EXISTS \`${new URL(mysqlUrl).pathname.slice(1)}\``]);
}
