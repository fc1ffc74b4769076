import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signAccessToken } from '../src/auth/token-signer.ts';
import type { ResolvedConfig } from '../src/config/config.ts';

/** Creates an open coupon through the API (window and validity around now); returns its id. */
export async function createBenchCoupon(api: string, jwt: ResolvedConfig['jwt'], quantity: number, name = 'Bench'): Promise<string> {
  const admin = await signAccessToken(jwt, { userId: 'bench-admin', role: 'admin' });
  const now = Date.now();
  const created = await fetch(`${api}/admin/coupons`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name, totalQuantity: quantity, discount: { type: 'PERCENT', value: 10 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
    }),
  });
  if (created.status !== 201) throw new Error(`creating the bench coupon: ${created.status} ${await created.text()}`);
  return ((await created.json()) as { id: string }).id;
}

/** A file of one user token per line, for the token-rotating wrk script: every request is another user. */
export async function writeTokensFile(jwt: ResolvedConfig['jwt'], users: number, prefix = 'bench-user'): Promise<string> {
  const tokens: string[] = [];
  for (let u = 0; u < users; u++) tokens.push(await signAccessToken(jwt, { userId: `${prefix}-${u}`, role: 'user' }));
  const file = join(mkdtempSync(join(tmpdir(), 'bench-')), 'tokens.txt');
  writeFileSync(file, `${tokens.join('\n')}\n`);
  return file;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A git worktree of `revision` beside this one (sharing its node_modules), for a before/after in one run. */
export function baselineTree(revision: string): string {
  // Keyed by the commit, not the name: `HEAD` or a branch names another commit tomorrow.
  const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', `${revision}^{commit}`], { encoding: 'utf8' }).trim();
  const dir = `/tmp/coupon-bench-baseline-${commit}`;
  if (!existsSync(dir)) {
    execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, commit], { stdio: 'ignore' });
    symlinkSync(`${ROOT}/node_modules`, `${dir}/node_modules`);
  }
  return dir;
}
