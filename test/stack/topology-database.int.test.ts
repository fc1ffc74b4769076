import { createConnection } from 'mysql2/promise';
import * as assert from 'uvu/assert';
import { ensureDatabase } from '../../src/db/recreate-database.ts';
import { localEndpoints, PORTS } from '../../src/stack/local-stack.ts';
import { spec } from '../support/spec.ts';
import { testConfig } from '../support/test-runtime.ts';

const databases = spec('each topology of the local stack follows its own log in a database of its own');

databases('the cluster topology\'s read models live in coupon_cluster, the single one\'s in coupon, on the same MariaDB of each profile', () => {
  for (const profile of Object.keys(PORTS) as (keyof typeof PORTS)[]) {
    const single = new URL(localEndpoints(profile, 'single').mysqlUrl);
    const cluster = new URL(localEndpoints(profile, 'cluster').mysqlUrl);
    assert.equal([single.host, single.pathname, cluster.host, cluster.pathname], [single.host, '/coupon', single.host, '/coupon_cluster'], profile);
  }
});

databases('a database missing on a running MariaDB is created, one that exists is left with its tables', async () => {
  const url = new URL(testConfig().mysqlUrl);
  url.pathname = `${url.pathname}_ensured`.slice(0, 65);
  const server = await createConnection({ host: url.hostname, port: Number(url.port), user: url.username, password: url.password });
  try {
    await server.query(`DROP DATABASE IF EXISTS \`${url.pathname.slice(1)}\``);
    await ensureDatabase(url.toString());
    await server.query(`CREATE TABLE \`${url.pathname.slice(1)}\`.kept (id int)`);
    await ensureDatabase(url.toString());
    const [rows] = await server.query(`SHOW TABLES FROM \`${url.pathname.slice(1)}\``);
    assert.equal((rows as Record<string, string>[]).map((r) => Object.values(r)[0]), ['kept']);
  } finally {
    await server.query(`DROP DATABASE IF EXISTS \`${url.pathname.slice(1)}\``);
    await server.end();
  }
});

databases.run();
