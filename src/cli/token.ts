import '../runtime/pinned-node.ts';
import { parseArgs } from 'node:util';
import { ROLES } from '../auth/identity.ts';
import { signAccessToken } from '../auth/token-signer.ts';
import { loadConfig } from '../config/config.ts';
import { devJwtSecret } from '../stack/local-stack.ts';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' }, role: { type: 'string' }, admin: { type: 'boolean', default: false },
    ttl: { type: 'string', default: '3600' }, claim: { type: 'string', multiple: true, default: [] },
  },
});
const claims = Object.fromEntries(values.claim.map((c) => c.split('=', 2)).filter((kv) => kv.length === 2));
const role = ROLES.find((r) => r === (values.role ?? (values.admin ? 'admin' : 'user')));
// --admin is the older spelling of --role admin; both at once could disagree.
if (!values.sub || !role || (values.admin && values.role !== undefined) || Object.keys(claims).length !== values.claim.length) {
  process.stderr.write(`usage: npm run token -- --sub <id> [--role ${ROLES.join('|')} | --admin] [--ttl seconds] [--claim name=value …]\n`);
  process.exit(2);
}
const config = loadConfig();
const jwt = { ...config.jwt, secret: config.jwt.secret ?? devJwtSecret(config.stackDir) };
process.stdout.write(`${await signAccessToken(jwt, { userId: values.sub, role, claims }, Number(values.ttl))}\n`);
