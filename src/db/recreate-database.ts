import { createConnection } from 'mysql2/promise';

/**
 * Drops and creates a database on the server of `mysqlUrl` and returns the URL that points at it. For
 * tooling that owns its data: the test run's reset and the benchmarks' scratch databases.
 */
export async function recreateDatabase(mysqlUrl: string, name = new URL(mysqlUrl).pathname.slice(1)): Promise<string> {
  const url = new URL(mysqlUrl);
  const server = await createConnection({ host: url.hostname, port: Number(url.port), user: url.username, password: url.password });
  try {
    await server.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await server.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await server.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}
