import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { MEMORY_ENV, MEMORY_FLAGS } from '../../src/runtime/memory-flags.ts';
import { spec } from '../support/spec.ts';

const root = new URL('../../', import.meta.url);
const flags = spec('a long-running process starts with the memory flags, however it is started');

flags('given `npm start`, then its node command carries every memory flag and the malloc arena limit', () => {
  const start = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const [env, node, ...args] = start.split(' ');
  // The operator's own value, when set, wins.
  assert.is(env, Object.entries(MEMORY_ENV).map(([k, v]) => `${k}=\${${k}:-${v}}`).join(' '));
  assert.is(node, 'node');
  assert.equal(args.slice(0, MEMORY_FLAGS.length), [...MEMORY_FLAGS]);
});

flags('given the Dockerfile, then its CMD carries every memory flag and its ENV the malloc arena limit', () => {
  const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  assert.equal(cmd.slice(0, 1 + MEMORY_FLAGS.length), ['node', ...MEMORY_FLAGS]);
  for (const [name, value] of Object.entries(MEMORY_ENV)) assert.match(/^ENV (.*)$/m.exec(dockerfile)![1]!, new RegExp(`(^| )${name}=${value}( |$)`));
});

flags.run();
