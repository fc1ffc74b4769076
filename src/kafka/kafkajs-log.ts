import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../log/logger.ts';

const toPinoLevel = (level: logLevel) =>
  level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : level === logLevel.INFO ? 'info' : 'debug';

/** kafkajs's own log lines, into the platform's logger. */
export const logCreatorFor =
  (logger: Logger): logCreator =>
  () =>
  ({ level, log }) => {
    const { message, ...extra } = log;
    logger[toPinoLevel(level)]({ kafka: extra }, message);
  };
