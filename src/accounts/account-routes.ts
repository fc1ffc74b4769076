import { createHash } from 'node:crypto';
import { z } from 'zod';
import { signAccessToken } from '../auth/token-signer.ts';
import type { Config } from '../config/config.ts';
import { uuidv7 } from '../ids/ids.ts';
import type { Db } from '../db/database.ts';
import { readJsonBody } from '../http/json-body.ts';
import { Problem } from '../http/problem.ts';
import type { Route } from '../http/route.ts';
import { validate } from '../http/validate.ts';
import { limitAttempts } from './login-attempts.ts';
import type { Redis } from 'ioredis';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.ts';

export const credentials = z.strictObject({
  email: z.email().max(254).transform((e) => e.toLowerCase()),
  password: z.string().min(8).max(200),
});

export const tokenSchema = z.object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number().int() });

export interface AccountDeps {
  db: Db;
  redis: Redis;
  jwt: Config['jwt'];
  limits: Config['loginLimits'];
}

const hashed = (text: string) => createHash('sha256').update(text).digest('base64url');

const signedUpSchema = { type: 'object', properties: { userId: { type: 'string' } }, required: ['userId'] };

export const accountRoutes = (deps: AccountDeps): Route[] => [{
  method: 'post', path: '/auth/signup', auth: 'public', summary: 'Create an account', tag: 'accounts', body: credentials, bodyRequired: true,
  answer: { status: 201, schema: signedUpSchema }, problems: ['EMAIL_TAKEN', 'RATE_LIMITED'],
  handler: async (ctx) => {
    await limitAttempts(deps.redis, `signup:addr:${hashed(ctx.ip)}`, deps.limits.perAddress, deps.limits.windowSeconds);
    const { email, password } = validate(credentials, (await readJsonBody(ctx)).value);
    const id = uuidv7();
    const passwordHash = await hashPassword(password);
    const inserted = await deps.db
      .insertInto('user_account')
      .values({ id, email, password_hash: passwordHash, created_at: new Date() })
      .onDuplicateKeyUpdate({ email: (eb) => eb.ref('email') })
      .executeTakeFirst();
    // MySQL counts 1 for an insert and 0 for a duplicate left as it was.
    if (Number(inserted.numInsertedOrUpdatedRows) !== 1) throw new Problem('EMAIL_TAKEN', 'An account with this email exists');
    ctx.status = 201;
    ctx.body = { userId: id };
  },
}, {
  method: 'post', path: '/auth/login', auth: 'public', summary: 'Get an access token', tag: 'accounts', body: credentials, bodyRequired: true,
  answer: { status: 200, schema: tokenSchema }, problems: ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
  handler: async (ctx) => {
    const { value } = await readJsonBody(ctx);
    const claimed = typeof (value as { email?: unknown })?.email === 'string' ? String((value as { email: string }).email).toLowerCase() : '';
    await limitAttempts(deps.redis, `login:addr:${hashed(ctx.ip)}`, deps.limits.perAddress, deps.limits.windowSeconds);
    await limitAttempts(deps.redis, `login:email:${hashed(claimed)}`, deps.limits.perEmail, deps.limits.windowSeconds);
    const { email, password } = validate(credentials, value);
    const account = await deps.db.selectFrom('user_account').select(['id', 'password_hash']).where('email', '=', email).executeTakeFirst();
    const matches = await verifyPassword(password, account?.password_hash ?? DUMMY_HASH);
    if (!account || !matches) throw new Problem('INVALID_CREDENTIALS', 'The email or password is wrong');
    ctx.body = {
      accessToken: await signAccessToken(deps.jwt, { userId: account.id, role: 'user', email }),
      tokenType: 'Bearer',
      expiresIn: deps.jwt.ttlSeconds,
    };
  },
}];
