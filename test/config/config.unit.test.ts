import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config/config.ts';
import { runAppToExit } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';

const config = spec('config');

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.unreachable('the configuration was accepted');
  return [];
}

config('given an empty environment, then every value has its documented default and no endpoint is set', () => {
  const c = loadConfig({});
  assert.equal(c.http, { host: '127.0.0.1', port: 3000, reusePort: false, corsOrigins: [], bodyTimeoutMs: 30_000, trustProxy: false });
  assert.equal(c.codeGuessLimits, { perCaller: 20, perAddress: 300, windowSeconds: 900 });
  assert.equal(c.humanCheck, { url: undefined, secret: undefined, ttlSeconds: 300, timeoutMs: 3_000 });
  assert.equal(c.kafka.topic, 'coupon.events');
  assert.equal(c.kafka.partitions, 6);
  assert.is(c.redisUrl, undefined);
  assert.is(c.kafka.brokers, undefined);
  assert.ok(c.roles.length > 0);
});

config('given values, then they are parsed to their types', () => {
  const c = loadConfig({ PORT: '8080', KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_PARTITIONS: '12', REDIS_URL: 'redis://r:6379' });
  assert.is(c.http.port, 8080);
  assert.equal(c.kafka.brokers, ['a:9092', 'b:9093']);
  assert.is(c.kafka.partitions, 12);
  assert.is(c.redisUrl, 'redis://r:6379');
});

config('a port of "abc" is refused, naming PORT and what is allowed', () => {
  const [problem] = problemsOf({ PORT: 'abc' });
  assert.match(problem!, /^PORT="abc": must be a whole number from 0 to 65535/);
});

config('out-of-range, malformed and unknown values are each named', () => {
  assert.match(problemsOf({ PORT: '70000' })[0]!, /^PORT=.*at most 65535/);
  assert.match(problemsOf({ KAFKA_BROKERS: 'nohostport' })[0]!, /^KAFKA_BROKERS=.*host:port/);
  assert.match(problemsOf({ REDIS_URL: 'http://x' })[0]!, /^REDIS_URL=.*redis:\/\//);
  assert.match(problemsOf({ ROLES: 'api,bogus' })[0]!, /^ROLES=/);
  assert.match(problemsOf({ JWT_SECRET: 'short' })[0]!, /^JWT_SECRET=.*32 characters/);
  assert.is(problemsOf({ PORT: 'x', KAFKA_PARTITIONS: '0' }).length, 2);
});

config('production refuses to start without a way to verify tokens', () => {
  assert.match(problemsOf({ NODE_ENV: 'production' })[0]!, /JWT_SECRET or JWT_JWKS_URL/);
});

config('JWT_JWKS_URL must be https://; http:// only on loopback, where tests serve a key set', () => {
  for (const url of ['http://idp.example/jwks', 'http://127.0.0.1.idp.example/jwks', 'http://10.0.0.1/jwks', 'ftp://idp.example/jwks', 'idp.example/jwks']) {
    assert.match(problemsOf({ JWT_JWKS_URL: url, JWT_ISSUER: 'https://idp.example' })[0]!, /^JWT_JWKS_URL=.*must be an https:\/\/ URL/, url);
  }
  for (const url of ['https://idp.example/.well-known/jwks.json', 'http://127.0.0.1:8080/jwks', 'http://[::1]:8080/jwks', 'http://localhost/jwks']) {
    assert.is(loadConfig({ JWT_JWKS_URL: url, JWT_ISSUER: 'https://idp.example' }).jwt.jwksUrl, url);
  }
});

config('JWT_JWKS_URL needs JWT_ISSUER (no default issuer stands in for the provider\'s); JWT_AUDIENCE is read', () => {
  assert.match(problemsOf({ JWT_JWKS_URL: 'https://idp.example/jwks' })[0]!, /^JWT_ISSUER: required with JWT_JWKS_URL/);
  const jwt = loadConfig({ JWT_JWKS_URL: 'https://idp.example/jwks', JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'coupon-platform' }).jwt;
  assert.equal([jwt.issuer, jwt.audience], ['https://idp.example', 'coupon-platform']);
  assert.equal([loadConfig({}).jwt.issuer, loadConfig({}).jwt.audience], ['coupon-platform', undefined]);
});

config('the process will not start with an http:// key set off loopback, naming the variable', async () => {
  const { code, output } = await runAppToExit({ JWT_JWKS_URL: 'http://idp.example/jwks', JWT_ISSUER: 'https://idp.example', PORT: '0', ROLES: 'api' }, 30_000);
  assert.is(code, 2);
  assert.match(output, /JWT_JWKS_URL="http:\/\/idp.example\/jwks": must be an https:\/\/ URL/);
});

config('the README documents every variable the config reads', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const undocumented = CONFIG_VARIABLES.filter((name) => !readme.includes(`\`${name}\``));
  assert.equal(undocumented, []);
});

config('the process exits non-zero on a bad value, naming it, before touching any service', async () => {
  const { code, output } = await runAppToExit({ PORT: 'abc' });
  assert.is(code, 2);
  assert.match(output, /PORT="abc": must be a whole number/);
  assert.not.match(output, /at .*\.ts:\d+/, 'no stack trace for a configuration mistake');
});

config.run();
