/**
 * `npm test`: finds the services (endpoints from the environment, else Testcontainers where a Docker
 * engine answers, else the project's local `test` stack), resets the state it owns, runs uvu over
 * test/ and ends with the plain line `N passed, N failed` that CI reads.
 */
import '../src/runtime/pinned-node.ts';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/config.ts';
import { recreateDatabase } from '../src/db/recreate-database.ts';
import { KafkaClient } from '../src/kafka/kafka-client.ts';
import { createLogger } from '../src/log/logger.ts';
import { ensureLocalStack, type StackEndpoints } from '../src/stack/local-stack.ts';
import { startContainerStack } from './support/container-stack.ts';

const [dir = 'test', pattern = '\\.test\\.ts$'] = process.argv.slice(2);
const say = (line: string) => process.stdout.write(`${line}\n`);
const base = loadConfig();

const dockerAnswers = () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 }).status === 0;

async function resetOwnedState(endpoints: StackEndpoints, topics: string[]): Promise<void> {
  const redis = new Redis(endpoints.redisUrl);
  await redis.flushall();
  await redis.quit();
  await recreateDatabase(endpoints.mysqlUrl);
  const kafka = new KafkaClient({ brokers: endpoints.kafkaBrokers, clientId: 'test-reset' }, createLogger('warn'));
  await kafka.deleteTopics(topics);
  await kafka.close();
}

let stack: 'external' | 'containers' | 'local';
let endpoints: StackEndpoints;
let stopContainers: (() => Promise<void>) | undefined;
const started = Date.now();
if (base.redisUrl && base.mysqlUrl && base.kafka.brokers) {
  stack = 'external';
  endpoints = { redisUrl: base.redisUrl, mysqlUrl: base.mysqlUrl, kafkaBrokers: base.kafka.brokers };
} else if (dockerAnswers()) {
  stack = 'containers';
  const containers = await startContainerStack();
  endpoints = containers.endpoints;
  stopContainers = containers.stop;
} else {
  stack = 'local';
  endpoints = await ensureLocalStack(base.stackDir, 'test', (line) => say(`stack: ${line}`));
  await resetOwnedState(endpoints, [base.kafka.topic]);
}
say(`services (${stack}) ready in ${Date.now() - started} ms`);

const uvuBin = join(dirname(createRequire(import.meta.url).resolve('uvu')), '..', 'bin.js');
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--disable-warning=TimeoutNegativeWarning', uvuBin, dir, pattern],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      TEST_STACK: stack,
      REDIS_URL: endpoints.redisUrl,
      MYSQL_URL: endpoints.mysqlUrl,
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      JWT_SECRET: process.env.JWT_SECRET ?? 'test-secret-that-is-at-least-32-characters-long',
    },
  },
);

let output = '';
let lingerTimer: NodeJS.Timeout | undefined;
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  output += chunk.toString();
  // uvu does not exit while a test left a handle open; once it has reported, that must not hang CI.
  if (!lingerTimer && /Duration:/.test(output)) {
    lingerTimer = setTimeout(() => {
      say('warning: the test process kept running after its report (an open handle); stopping it');
      child.kill('SIGKILL');
    }, 15_000);
  }
});

const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal === 'SIGKILL' && lingerTimer ? 0 : 1))));
clearTimeout(lingerTimer);
await stopContainers?.();

const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
const number = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? NaN);
const total = number('Total');
const passed = number('Passed');
let failed = Number.isNaN(total) ? 1 : total - passed;
if (code !== 0 && failed === 0) failed = 1;
say(`${Number.isNaN(passed) ? 0 : passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
