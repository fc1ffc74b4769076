import { PassThrough } from 'node:stream';
import * as assert from 'uvu/assert';
import { createLogger, type LogFormat } from '../../src/log/logger.ts';
import { spec } from '../support/spec.ts';

const logs = spec('log lines for people at a terminal, JSON for everything else');

/** What one info line with a secret in it looks like in the given format, on a terminal or not. */
function oneLine(format: LogFormat, terminal: boolean): string {
  const stream = Object.assign(new PassThrough(), { isTTY: terminal });
  let written = '';
  stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
  createLogger('info', 'logger-test', format, stream).info({ coupon: 'c-1', account: { password: 'hunter2' } }, 'coupon issued');
  return written;
}

logs('given stdout is not a terminal, when a line is logged, then it is one JSON object (as collectors want)', () => {
  const line = JSON.parse(oneLine('auto', false)) as Record<string, unknown>;
  assert.is(line.msg, 'coupon issued');
  assert.is(line.coupon, 'c-1');
  assert.equal(line.account, { password: '[redacted]' });
});

logs('given stdout is a terminal, when a line is logged, then it is a coloured line a person reads, secrets still redacted', () => {
  const text = oneLine('auto', true);
  assert.throws(() => JSON.parse(text));
  assert.ok(text.includes('\u001b['), `coloured: ${JSON.stringify(text)}`);
  assert.match(text, /INFO/);
  assert.match(text, /coupon issued/);
  assert.match(text, /c-1/);
  assert.not.match(text, /hunter2/);
});

logs('given LOG_FORMAT=json on a terminal, then JSON; given LOG_FORMAT=pretty in a pipe, then pretty', () => {
  assert.is((JSON.parse(oneLine('json', true)) as { msg: string }).msg, 'coupon issued');
  assert.match(oneLine('pretty', false), /INFO.*coupon issued/s);
});

logs.run();
