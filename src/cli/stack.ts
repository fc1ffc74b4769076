import '../runtime/pinned-node.ts';
import { loadConfig } from '../config/config.ts';
import { ensureLocalStack, stackMemoryMb, stopLocalStack, wipeLocalStack, type StackProfile } from '../stack/local-stack.ts';

const [command = 'up', profileArg = 'dev'] = process.argv.slice(2);
const profile = profileArg as StackProfile;
const { stackDir, topology } = loadConfig();
const log = (line: string) => process.stdout.write(`${line}\n`);

switch (command) {
  case 'up': {
    const started = Date.now();
    const e = await ensureLocalStack(stackDir, profile, log, undefined, topology);
    const redis = e.redisClusterNodes ? `REDIS_CLUSTER_NODES=${e.redisClusterNodes.join(',')}` : `REDIS_URL=${e.redisUrl}`;
    log(`stack (${profile}, ${topology}) ready in ${Date.now() - started} ms\n  ${redis}\n  MYSQL_URL=${e.mysqlUrl}\n  KAFKA_BROKERS=${e.kafkaBrokers.join(',')}`);
    if (topology === 'cluster') log(`  memory (RSS) of the stack's servers: ${stackMemoryMb(stackDir, profile, topology)} MB`);
    break;
  }
  case 'stop':
    await stopLocalStack(stackDir, log);
    break;
  case 'wipe':
    await wipeLocalStack(stackDir, log);
    break;
  default:
    process.stderr.write(`usage: stack up [dev|test|history] | stop | wipe\n`);
    process.exit(2);
}
