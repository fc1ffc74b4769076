import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../log/logger.ts';

type Level = 'error' | 'warn' | 'info' | 'debug';

/** One kafkajs log line as the platform's logger says it. */
export interface LogLine {
  level: Level;
  message: string;
  kafka: Record<string, unknown>;
}

const levelOf = (level: logLevel): Level =>
  level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug';

/**
 * The protocol errors (kafkajs's messages for codes 14, 15 and 16) a group's coordinator answers while it is
 * being elected or loaded: a brand-new broker answers the first FindCoordinator with 15, and kafkajs asks again.
 */
const COORDINATOR_NOT_READY = new Set([
  "The coordinator is loading and hence can't process requests for this group",
  'The group coordinator is not available',
  'This is not the correct coordinator for this group',
]);

/**
 * The requests a group's coordinator answers (kafkajs's names), which kafkajs repeats after finding the
 * coordinator again; one that still fails in the end is logged by the consumer as a crash, at error.
 */
const GROUP_REQUEST = /^Response (GroupCoordinator|JoinGroup|SyncGroup|Heartbeat|OffsetCommit|OffsetFetch|LeaveGroup)\(/;

/**
 * kafkajs logs some conditions as errors that it retries or recovers from itself; they are said here at the
 * level they deserve, so an error line means something failed. Every other line keeps kafkajs's level.
 */
export function toLogLine({ namespace, level, log }: Pick<LogEntry, 'namespace' | 'level' | 'log'>): LogLine {
  const { message, ...kafka } = log;
  // Every response carrying an error code is logged by the connection at error, even those the caller retries.
  if (namespace === 'Connection' && GROUP_REQUEST.test(message) && COORDINATOR_NOT_READY.has(String(kafka.error))) {
    return { level: 'info', message: `waiting for Kafka's group coordinator (${String(kafka.error)}); kafkajs asks again`, kafka: { ...kafka, request: message } };
  }
  // The group's offset in Kafka is only a hint (consumers start where the caller's own store says): one outside
  // the log, as after a topic was created anew, is reset by kafkajs to the partition's start.
  if (namespace === 'ConsumerGroup' && message.startsWith('Offset out of range')) {
    return { level: 'warn', message: "the consumer group's offset in Kafka is outside the log; kafkajs reads the partition from its start", kafka };
  }
  return { level: levelOf(level), message, kafka };
}

/** kafkajs's own log lines, into the platform's logger. */
export const logCreatorFor =
  (logger: Logger): logCreator =>
  () =>
  (entry) => {
    const { level, message, kafka } = toLogLine(entry);
    logger[level]({ kafka }, message);
  };
