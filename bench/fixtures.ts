import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac, createSecretKey } from 'node:crypto';
import { jwtVerify } from 'jose';
import { signAccessToken } from '../src/auth/token-signer.ts';
import type { ResolvedConfig } from '../src/config/config.ts';

/** Creates an open coupon through the API (window and validity around now); returns its id. */
export async function createBenchCoupon(api: string, jwt: ResolvedConfig['jwt'], quantity: number, name = 'Bench', buckets = 1): Promise<string> {
  const admin = await signAccessToken(jwt, { userId: 'bench-admin', role: 'admin' });
  const now = Date.now();
  const created = await fetch(`${api}/admin/coupons`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name, totalQuantity: quantity, discount: { type: 'PERCENT', value: 10 },
      issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
      validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(), buckets,
    }),
  });
  if (created.status !== 201) throw new Error(`creating the bench coupon: ${created.status} ${await created.text()}`);
  return ((await created.json()) as { id: string }).id;
}

/**
 * A file of one user token per line, for the token-rotating wrk script: every request is another user.
 * Signed here with HMAC directly (hundreds of thousands take jose seconds); the first is checked against
 * jose's verifier, so the bytes are what the platform's own signer would accept.
 */
export async function writeTokensFile(jwt: ResolvedConfig['jwt'], users: number, prefix = 'bench-user'): Promise<string> {
  const key = createSecretKey(Buffer.from(jwt.secret!, 'utf8'));
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let u = 0; u < users; u++) {
    const payload = Buffer.from(JSON.stringify({ role: 'user', sub: `${prefix}-${u}`, iss: jwt.issuer, iat, exp: iat + jwt.ttlSeconds })).toString('base64url');
    tokens.push(`${header}.${payload}.${createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')}`);
  }
  await jwtVerify(tokens[0]!, key, { algorithms: ['HS256'], issuer: jwt.issuer, requiredClaims: ['exp'] });
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
