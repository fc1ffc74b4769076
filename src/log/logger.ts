import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * One logger per process. JSON lines for collectors; for a person at a terminal (`auto` when stdout is a
 * TTY, or `pretty`), coloured single lines written synchronously on the same thread, so a crash loses none.
 */
export function createLogger(level: string, name = 'coupon-platform', format: LogFormat = 'auto', stream: NodeJS.WritableStream = process.stdout): Logger {
  const options = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', '*.password', '*.secret'], censor: '[redacted]' },
  };
  const human = format === 'pretty' || (format === 'auto' && (stream as NodeJS.WriteStream).isTTY === true);
  if (!human) return stream === process.stdout ? pino(options) : pino(options, stream);
  return pino(options, pretty({ destination: stream, colorize: format === 'pretty' || (stream as NodeJS.WriteStream).isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
