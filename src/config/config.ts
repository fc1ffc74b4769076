import cron from 'node-cron';
import { z } from 'zod';

export const ROLES = ['api', 'relay', 'projector', 'notifier'] as const;
export type Role = (typeof ROLES)[number];

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(item).min(1, 'must list at least one value'));

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Keys fetched in clear text could be swapped on the way; on loopback they cannot, and tests serve them there. */
function isKeySetUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol, hostname } = new URL(value);
  return protocol === 'https:' || (protocol === 'http:' && LOOPBACK.has(hostname));
}

const hostPort = z.string().regex(/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/, 'must be host:port');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: wholeNumber(0, 65535).default(3000),
  HTTP_REUSE_PORT: z.enum(['true', 'false']).default('false'),
  HTTP_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  HTTP_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  CORS_ORIGINS: csv(z.url({ error: 'must be origins like https://shop.example' })).optional(),
  ROLES: csv(z.enum(ROLES)).default([...ROLES]),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),

  STACK_TOPOLOGY: z.enum(['single', 'cluster']).default('single'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  REDIS_CLUSTER_NODES: csv(hostPort).optional(),
  REDIS_COMMAND_TIMEOUT_MS: wholeNumber(50, 60_000).default(2_000),
  MYSQL_URL: z.url({ protocol: /^mysql$/, error: 'must be a mysql://user:password@host:port/database URL' }).optional(),
  KAFKA_BROKERS: csv(hostPort).optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default('coupon-platform'),
  KAFKA_TOPIC: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a valid Kafka topic name').default('coupon.events'),
  KAFKA_PARTITIONS: wholeNumber(1, 1000).default(6),
  KAFKA_REPLICATION_FACTOR: wholeNumber(1, 10).optional(),
  KAFKA_MIN_INSYNC_REPLICAS: wholeNumber(1, 10).optional(),

  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_JWKS_URL: z.string().refine(isKeySetUrl, 'must be an https:// URL (http:// only for 127.0.0.1, [::1] or localhost)').optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  ACCESS_TOKEN_TTL_SECONDS: wholeNumber(60, 86_400).default(3600),

  ADMISSION_SHARDS: wholeNumber(1, 1024).default(16),
  ADMISSION_RETRY_MS: wholeNumber(0, 120_000).default(8_000),
  ADMISSION_REPLICAS: z.enum(['0', '1']).transform(Number).default(0),
  ADMISSION_REPLICA_WAIT_MS: wholeNumber(1, 60_000).default(1_000),
  OUTBOX_MAX_ENTRIES: wholeNumber(1, 100_000_000).default(50_000),
  RELAY_BATCH_SIZE: wholeNumber(1, 10_000).default(1000),
  RELAY_LINGER_MS: wholeNumber(0, 1_000).default(10),
  RELAY_LEASE_MS: wholeNumber(500, 600_000).default(6_000),
  LIVENESS_STALL_MS: wholeNumber(1_000, 3_600_000).default(60_000),
  METRICS_PORT: wholeNumber(0, 65535).optional(),

  USER_LIMIT: wholeNumber(1, 100_000).default(20),
  USER_LIMIT_WINDOW_MS: wholeNumber(100, 3_600_000).default(10_000),
  LOGIN_LIMIT_PER_EMAIL: wholeNumber(1, 10_000).default(10),
  LOGIN_LIMIT_PER_ADDRESS: wholeNumber(1, 100_000).default(100),
  LOGIN_LIMIT_WINDOW_SECONDS: wholeNumber(1, 86_400).default(900),
  CODE_GUESSES_PER_CALLER: wholeNumber(1, 100_000).default(20),
  CODE_GUESSES_PER_ADDRESS: wholeNumber(1, 1_000_000).default(300),
  CODE_GUESS_WINDOW_SECONDS: wholeNumber(1, 86_400).default(900),
  HUMAN_CHECK_URL: z.string().refine(isKeySetUrl, 'must be an https:// URL (http:// only for 127.0.0.1, [::1] or localhost)').optional(),
  HUMAN_CHECK_SECRET: z.string().min(1).optional(),
  HUMAN_CHECK_TTL_SECONDS: wholeNumber(1, 3_600).default(300),
  HUMAN_CHECK_TIMEOUT_MS: wholeNumber(100, 30_000).default(3_000),
  /** Signs waiting-room passes; unset, derived from JWT_SECRET (with only JWT_JWKS_URL, no coupon may open through a waiting room). */
  QUEUE_PASS_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),

  NOTIFIER_CRON: z.string().refine((e) => cron.validate(e), 'must be a cron expression, e.g. "0 * * * *"').default('0 * * * *'),
  NOTIFIER_TIMEZONE: z
    .string()
    .refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'must be an IANA time zone, e.g. UTC or Asia/Seoul')
    .default('UTC'),
  EXPIRY_NOTICE_DAYS: wholeNumber(1, 365).default(7),
  WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  SMTP_FROM: z.string().min(3).default('Coupons <coupons@localhost>'),
  DELIVERY_MAX_ATTEMPTS: wholeNumber(1, 50).default(8),
  DELIVERY_BACKOFF_MS: wholeNumber(1, 3_600_000).default(2_000),
  DELIVERY_POLL_MS: wholeNumber(10, 60_000).default(1_000),

  STACK_DIR: z.string().min(1).default('.stack'),
  SHUTDOWN_TIMEOUT_MS: wholeNumber(100, 120_000).default(10_000),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  /** `trustProxy`: the client's address is the X-Forwarded-For a load balancer in front sets (limits per address need it). */
  http: { host: string; port: number; reusePort: boolean; corsOrigins: string[]; bodyTimeoutMs: number; trustProxy: boolean };
  roles: Role[];
  logLevel: Env['LOG_LEVEL'];
  /** `auto`: coloured lines for a person at a terminal, JSON lines for everything else. */
  logFormat: Env['LOG_FORMAT'];
  /** Which local stack `npm start` and `npm test` bring up when no endpoints are set. */
  topology: 'single' | 'cluster';
  redisUrl?: string;
  /** Seed nodes of a Redis Cluster: when set, every Redis user talks to the cluster (REDIS_URL is not used). */
  redisClusterNodes?: string[];
  redis: { commandTimeoutMs: number };
  mysqlUrl?: string;
  kafka: { brokers?: string[]; clientId: string; topic: string; partitions: number; replicationFactor: number; minInSyncReplicas: number };
  /** `issuer` and `audience` (when set) are checked on every token, HS256 or JWKS. */
  jwt: { secret?: string; jwksUrl?: string; issuer: string; audience?: string; ttlSeconds: number };
  admission: {
    shards: number;
    retryMs: number;
    /** 1: a decision is answered only after a replica has it (`WAIT 1`), so a master's failover cannot take it back. */
    replicas: 0 | 1;
    replicaWaitMs: number;
    /** Pending events past which admissions stop (503) instead of growing Redis while the log is away. */
    outboxMaxEntries: number;
    /** Attempts per user, coupon and route in a window, counted by the admission scripts themselves. */
    userLimit: { requests: number; windowMs: number };
  };
  loginLimits: { perEmail: number; perAddress: number; windowSeconds: number };
  /** Codes naming no coupon the caller may claim, per caller and per address in a window (coupons/codes/code-guesses.ts). */
  codeGuessLimits: { perCaller: number; perAddress: number; windowSeconds: number };
  /** The human-check verifier in front of issues of coupons that ask for one (coupons/human-check). */
  humanCheck: { url?: string; secret?: string; ttlSeconds: number; timeoutMs: number };
  queuePassSecret?: string;
  notifier: {
    cron: string;
    timezone: string;
    expiryNoticeDays: number;
    webhook?: { url: string; secret: string };
    smtp?: { url: string; from: string };
    delivery: { maxAttempts: number; backoffMs: number; pollMs: number };
  };
  relay: { batchSize: number; lingerMs: number; leaseMs: number };
  /** A worker loop that has not moved for this long is reported stuck: its role's /readyz answers 503. */
  liveness: { stallMs: number };
  /** Where a process without the api role serves /metrics, /healthz and /readyz. */
  metricsPort?: number;
  stackDir: string;
  shutdownTimeoutMs: number;
}

/** A config whose service endpoints are all known, either set by the operator or filled in by the local stack. */
export type ResolvedConfig = Config & {
  redisUrl: string;
  mysqlUrl: string;
  kafka: Config['kafka'] & { brokers: string[] };
};

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((key) => source[key] !== undefined && source[key] !== '')
      .map((key) => [key, source[key]]),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        return `${name}=${JSON.stringify(source[name])}: ${issue.message}`;
      }),
    );
  }
  const env = parsed.data;
  if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) {
    throw new ConfigError(['WEBHOOK_SECRET: required with WEBHOOK_URL, to sign what is sent']);
  }
  // A cluster stack defaults to what a log kept forever needs; one broker can only hold one copy.
  const replication = env.KAFKA_REPLICATION_FACTOR ?? (env.STACK_TOPOLOGY === 'cluster' ? 3 : 1);
  if (env.KAFKA_MIN_INSYNC_REPLICAS !== undefined && env.KAFKA_MIN_INSYNC_REPLICAS > replication) {
    throw new ConfigError([`KAFKA_MIN_INSYNC_REPLICAS=${env.KAFKA_MIN_INSYNC_REPLICAS}: cannot exceed the replication factor (${replication}); every write would be refused`]);
  }
  // The provider signs for other applications too; its issuer is what tells its tokens for us apart, so no default stands in.
  if (env.JWT_JWKS_URL && !env.JWT_ISSUER) {
    throw new ConfigError(['JWT_ISSUER: required with JWT_JWKS_URL (the `iss` the identity provider puts in tokens for this platform)']);
  }
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET && !env.JWT_JWKS_URL) {
    throw new ConfigError(['JWT_SECRET or JWT_JWKS_URL: one must be set when NODE_ENV=production']);
  }
  return {
    env: env.NODE_ENV,
    http: { host: env.HOST, port: env.PORT, reusePort: env.HTTP_REUSE_PORT === 'true', corsOrigins: env.CORS_ORIGINS ?? [], bodyTimeoutMs: env.HTTP_BODY_TIMEOUT_MS,
      trustProxy: env.HTTP_TRUST_PROXY === 'true' },
    roles: [...new Set(env.ROLES)],
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    topology: env.STACK_TOPOLOGY,
    redisUrl: env.REDIS_URL,
    redisClusterNodes: env.REDIS_CLUSTER_NODES,
    redis: { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS },
    mysqlUrl: env.MYSQL_URL,
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      topic: env.KAFKA_TOPIC,
      partitions: env.KAFKA_PARTITIONS,
      replicationFactor: replication,
      minInSyncReplicas: env.KAFKA_MIN_INSYNC_REPLICAS ?? Math.min(2, replication),
    },
    jwt: {
      secret: env.JWT_SECRET, jwksUrl: env.JWT_JWKS_URL, issuer: env.JWT_ISSUER ?? 'coupon-platform', audience: env.JWT_AUDIENCE, ttlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    },
    admission: {
      shards: env.ADMISSION_SHARDS, retryMs: env.ADMISSION_RETRY_MS, replicas: env.ADMISSION_REPLICAS as 0 | 1,
      replicaWaitMs: env.ADMISSION_REPLICA_WAIT_MS, outboxMaxEntries: env.OUTBOX_MAX_ENTRIES,
      userLimit: { requests: env.USER_LIMIT, windowMs: env.USER_LIMIT_WINDOW_MS },
    },
    loginLimits: { perEmail: env.LOGIN_LIMIT_PER_EMAIL, perAddress: env.LOGIN_LIMIT_PER_ADDRESS, windowSeconds: env.LOGIN_LIMIT_WINDOW_SECONDS },
    codeGuessLimits: { perCaller: env.CODE_GUESSES_PER_CALLER, perAddress: env.CODE_GUESSES_PER_ADDRESS, windowSeconds: env.CODE_GUESS_WINDOW_SECONDS },
    queuePassSecret: env.QUEUE_PASS_SECRET,
    humanCheck: { url: env.HUMAN_CHECK_URL, secret: env.HUMAN_CHECK_SECRET, ttlSeconds: env.HUMAN_CHECK_TTL_SECONDS, timeoutMs: env.HUMAN_CHECK_TIMEOUT_MS },
    notifier: {
      cron: env.NOTIFIER_CRON,
      timezone: env.NOTIFIER_TIMEZONE,
      expiryNoticeDays: env.EXPIRY_NOTICE_DAYS,
      webhook: env.WEBHOOK_URL ? { url: env.WEBHOOK_URL, secret: env.WEBHOOK_SECRET! } : undefined,
      smtp: env.SMTP_URL ? { url: env.SMTP_URL, from: env.SMTP_FROM } : undefined,
      delivery: { maxAttempts: env.DELIVERY_MAX_ATTEMPTS, backoffMs: env.DELIVERY_BACKOFF_MS, pollMs: env.DELIVERY_POLL_MS },
    },
    relay: { batchSize: env.RELAY_BATCH_SIZE, lingerMs: env.RELAY_LINGER_MS, leaseMs: env.RELAY_LEASE_MS },
    liveness: { stallMs: env.LIVENESS_STALL_MS },
    metricsPort: env.METRICS_PORT,
    stackDir: env.STACK_DIR,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  };
}

/** The variables the README documents, generated from the schema so the table cannot drift. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);
