import '../runtime/pinned-node.ts';
import { loadConfig } from '../config/config.ts';
import { ensureLocalStack, localEndpoints, stopLocalStack, wipeLocalStack, type StackProfile } from '../stack/local-stack.ts';

const [command = 'up', profileArg = 'dev'] = process.argv.slice(2);
const profile = profileArg as StackProfile;
const { stackDir } = loadConfig();
const log = (line: string) => process.stdout.write(`${line}\n`);

switch (command) {
  case 'up': {
    const started = Date.now();
    await ensureLocalStack(stackDir, profile, log);
    const e = localEndpoints(profile);
    log(`stack (${profile}) ready in ${Date.now() - started} ms\n  REDIS_URL=${e.redisUrl}\n  MYSQL_URL=${e.mysqlUrl}\n  KAFKA_BROKERS=${e.kafkaBrokers.join(',')}`);
    break;
  }
  case 'stop':
    await stopLocalStack(stackDir, log);
    break;
  case 'wipe':
    await wipeLocalStack(stackDir, log);
    break;
  default:
    process.stderr.write(`usage: stack up [dev|test] | stop | wipe\n`);
    process.exit(2);
}
