import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { logLevel, type logCreator } from 'kafkajs';
import * as assert from 'uvu/assert';
import { logCreatorFor } from '../../src/kafka/kafkajs-log.ts';
import { createLogger } from '../../src/log/logger.ts';
import { spec } from '../support/spec.ts';

/**
 * kafkajs's own logger and error table, so the lines below are made the way kafkajs makes them: the calls are
 * those of kafkajs 2.2.4's src/network/connection.js (a response carrying an error code), src/consumer/
 * consumerGroup.js (recoverFromOffsetOutOfRange) and src/consumer/index.js (onCrash).
 */
const kafkajs = createRequire(import.meta.url);
const { createLogger: createKafkajsLogger } = kafkajs('kafkajs/src/loggers') as {
  createLogger(options: { level: logLevel; logCreator: logCreator }): KafkajsLogger;
};
const { createErrorFromCode } = kafkajs('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error & { type: string; retriable: boolean } };
interface KafkajsLogger {
  namespace(name: string): Record<'error' | 'warn' | 'info' | 'debug', (message: string, extra?: object) => void>;
}

/** The pino lines one kafkajs log call ends up as, through the platform's logger at level debug. */
function linesOf(say: (kafkajsLogger: KafkajsLogger) => void): { level: number; msg: string; kafka: Record<string, unknown> }[] {
  const stream = new PassThrough();
  let written = '';
  stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
  // As the client makes it: kafkajs passes on its warnings and errors only.
  say(createKafkajsLogger({ level: logLevel.WARN, logCreator: logCreatorFor(createLogger('debug', 'kafkajs-log-test', 'json', stream)) }));
  return written.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string; kafka: Record<string, unknown> });
}

const connectionResponseError = (code: number, request: string) => (logger: KafkajsLogger) =>
  logger.namespace('Connection').error(`Response ${request}`, {
    broker: '127.0.0.1:45010', clientId: 'coupon-platform', error: createErrorFromCode(code).message, correlationId: 2, size: 55,
  });

const ERROR = 50;
const lines = spec("kafkajs's log lines in the platform's log: what kafkajs retries by itself is not an error");

lines('given a brand-new broker electing its group coordinator, when kafkajs logs the FindCoordinator answer, then it is info and says it waits', () => {
  const coordinatorErrors = [14, 15, 16].map((code) => createErrorFromCode(code));
  assert.ok(coordinatorErrors.every((e) => e.retriable), 'kafkajs retries each of them');
  for (const code of [14, 15, 16]) {
    const [line] = linesOf(connectionResponseError(code, 'GroupCoordinator(key: 10, version: 2)'));
    assert.is(line?.level, 30, `code ${code}: ${JSON.stringify(line)}`);
    assert.match(line!.msg, /waiting for Kafka's group coordinator/);
    assert.is(line!.kafka.error, createErrorFromCode(code).message);
    assert.is(line!.kafka.request, 'Response GroupCoordinator(key: 10, version: 2)');
    assert.is(line!.kafka.broker, '127.0.0.1:45010');
  }
  const [heartbeat] = linesOf(connectionResponseError(16, 'Heartbeat(key: 12, version: 3)'));
  assert.is(heartbeat?.level, 30, 'a group request kafkajs sends again to the new coordinator');
  const [elsewhere] = linesOf(connectionResponseError(15, 'Metadata(key: 3, version: 6)'));
  assert.is(elsewhere?.level, ERROR, 'a coordinator error on a request kafkajs does not repeat for it stays an error');
});

lines("given a consumer group's offset outside the log, when kafkajs resets it to the partition's start, then it is a warning", () => {
  const [line] = linesOf((logger) =>
    logger.namespace('ConsumerGroup').error('Offset out of range, resetting to default offset', {
      topic: 'coupon.events', partition: 3, groupId: 'coupon-projector', memberId: 'coupon-platform-1',
    }));
  assert.is(line?.level, 40);
  assert.match(line!.msg, /outside the log/);
  assert.equal(line!.kafka, { timestamp: line!.kafka.timestamp, logger: 'kafkajs', topic: 'coupon.events', partition: 3, groupId: 'coupon-projector', memberId: 'coupon-platform-1' });
});

lines('given a real failure, when kafkajs logs it as an error, then it stays an error with kafkajs\'s own words', () => {
  const [tooLarge] = linesOf(connectionResponseError(10, 'Produce(key: 0, version: 7)'));
  assert.is(tooLarge?.level, ERROR);
  assert.is(tooLarge!.msg, 'Response Produce(key: 0, version: 7)');
  assert.is(tooLarge!.kafka.error, createErrorFromCode(10).message);
  const [crash] = linesOf((logger) =>
    logger.namespace('Consumer').error('Crash: KafkaJSNonRetriableError: The group coordinator is not available', { groupId: 'coupon-projector', retryCount: 5, stack: 'at …' }));
  assert.is(crash?.level, ERROR, 'a consumer that crashed is an error, whatever it crashed on');
  const [outOfRangeElsewhere] = linesOf((logger) => logger.namespace('Connection').error('Response Fetch(key: 1, version: 11)', { error: 'Offset out of range' }));
  assert.is(outOfRangeElsewhere?.level, ERROR);
});

lines('given a warning kafkajs logs, then it stays a warning', () => {
  const [line] = linesOf((logger) => logger.namespace('Consumer').warn('consumer#run was called, but the consumer is already running', { groupId: 'g' }));
  assert.is(line?.level, 40);
  assert.is(line!.msg, 'consumer#run was called, but the consumer is already running');
});

lines.run();
