import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { PINNED_NODE_MAJOR } from '../../src/runtime/pinned-node.ts';
import { skip, spec } from '../support/spec.ts';

const runtime = spec('the pinned runtime');

runtime('the tests run on the pinned Node major, from the project\'s node_modules', () => {
  assert.is(PINNED_NODE_MAJOR, 24);
  assert.is(Number(process.versions.node.split('.')[0]), 24, process.version);
  assert.match(process.execPath, /node_modules\/(\.bin\/)?node(\/bin\/node)?$/);
});

runtime('another Node major is refused at once: with a one-line fix where it can read TypeScript (22 and later), by Node itself where it cannot', () => {
  const other = '/usr/bin/node';
  const version = existsSync(other) ? spawnSync(other, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  if (!version || version.startsWith(`v${PINNED_NODE_MAJOR}.`)) skip('other-node', `no Node other than ${PINNED_NODE_MAJOR} at ${other}`);
  const run = spawnSync(other, ['src/cli/token.ts', '--sub', 'x'], { encoding: 'utf8' });
  assert.is.not(run.status, 0, run.stdout);
  const reads = Number(version.slice(1).split('.')[0]) >= 22;
  assert.match(run.stderr, reads ? new RegExp(`runs on Node 24, not ${version.slice(1).replaceAll('.', '\\.')}.*run npm ci`) : /ERR_UNKNOWN_FILE_EXTENSION|Unknown file extension "\.ts"/);
  assert.is(run.stdout, '', 'no token was signed');
});

runtime.run();
