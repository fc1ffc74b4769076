import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'coupon-platform'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', '*.password', '*.secret'], censor: '[redacted]' },
  });
}
