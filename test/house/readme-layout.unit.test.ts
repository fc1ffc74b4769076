import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spec } from '../support/spec.ts';

const root = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const table = readme.slice(readme.indexOf('### Layout'), readme.indexOf('### Roles'));
const named = [...table.matchAll(/`([\w./-]+\/)`/g)].map((m) => m[1]!);
const folders = (dir: string) => readdirSync(join(root, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${dir}/${e.name}/`);

const layout = spec("the README's Layout table matches the folders");

layout('every folder it names exists', () => {
  assert.ok(named.length > 20, `only ${named.length} folders named`);
  assert.equal(named.filter((f) => !existsSync(join(root, f))), []);
});

layout('every folder of src/ is named, and every folder of src/coupons/ named or listed among its capabilities', () => {
  assert.equal(folders('src').filter((f) => !named.some((n) => n.startsWith(f))), []);
  const capabilities = table.split('\n').find((l) => l.includes('`src/coupons/<capability>/`')) ?? '';
  assert.equal(folders('src/coupons').filter((f) => !named.includes(f) && !new RegExp(`[ :,]${f.split('/')[2]}[ ,(]`).test(capabilities)), []);
});

layout.run();
