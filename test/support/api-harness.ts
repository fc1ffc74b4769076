import { Agent, request as httpRequest } from 'node:http';
import { signAccessToken } from '../../src/auth/token-signer.ts';
import type { EligibilityClaims } from '../../src/auth/identity.ts';
import { shardKeys } from '../../src/outbox/outbox.ts';
import { shardOf } from '../../src/ids/ids.ts';
import { couponKeys, layoutFrom } from '../../src/coupons/admission/keys.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { parseCouponEvent, type CouponEvent } from '../../src/events/coupon-events.ts';
import { partitionFor } from '../../src/kafka/kafka-client.ts';
import { eventLogTopics } from '../../src/kafka/topics.ts';
import { startApi, type RunningApi } from '../../src/roles/api-role.ts';
import { startRelay, type RunningRelay } from '../../src/roles/relay-role.ts';
import { startProjectorRole, type RunningProjectorRole } from '../../src/roles/projector-role.ts';
import { startNotifier } from '../../src/roles/notifier-role.ts';
import type { RunningRole } from '../../src/roles/role.ts';
import { projectionStatuses } from '../../src/projector/projection-status.ts';
import { runAudit, type AuditReport } from '../../src/audit/run-audit.ts';
import { closeRuntime, logAndStores, type Runtime } from '../../src/runtime/runtime.ts';
import { openTestRuntime } from './test-runtime.ts';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** The platform running in this process on a free port: the API, and the relay when asked for. */
export class Harness {
  relay?: RunningRelay;
  projector?: RunningProjectorRole;
  notifier?: RunningRole;

  readonly runtime: Runtime;
  readonly api: RunningApi;

  private constructor(runtime: Runtime, api: RunningApi) {
    this.runtime = runtime;
    this.api = api;
  }

  static async start(options: { relay?: boolean; projector?: boolean; notifier?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Harness> {
    const runtime = await openTestRuntime({ PORT: '0', ...options.env });
    await migrateToLatest(runtime.db);
    await runtime.kafka.ensureTopics(eventLogTopics(runtime.config));
    const harness = new Harness(runtime, await startApi(runtime));
    if (options.relay) await harness.startRelay();
    if (options.projector) harness.projector = await startProjectorRole(runtime);
    if (options.notifier) harness.notifier = await startNotifier(runtime);
    return harness;
  }

  /** Waits until the named projections (the read models, unless told) have applied the whole log. */
  async projected(timeoutMs = 60_000, names = ['coupon', 'issued_coupon']): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await projectionStatuses(this.runtime.db, this.runtime.kafka, this.runtime.config.kafka.topic);
      if (statuses.filter((s) => names.includes(s.name)).every((s) => s.lag === 0)) return;
      if (Date.now() > deadline) throw new Error(`projections still behind: ${JSON.stringify(statuses)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  audit(couponId?: string): Promise<AuditReport> {
    return runAudit(logAndStores(this.runtime), couponId);
  }

  async startRelay(): Promise<void> {
    this.relay ??= await startRelay(this.runtime);
  }

  async stopRelay(): Promise<void> {
    await this.relay?.stop();
    this.relay = undefined;
  }

  async close(): Promise<void> {
    await this.notifier?.stop();
    await this.projector?.stop();
    await this.stopRelay();
    await this.api.stop();
    await closeRuntime(this.runtime);
  }

  token(userId: string, role: 'user' | 'service' | 'admin' = 'user', ttlSeconds?: number, claims?: EligibilityClaims): Promise<string> {
    return signAccessToken(this.runtime.config.jwt, { userId, role, ...(claims ? { claims } : {}) }, ttlSeconds);
  }

  request<T = Record<string, unknown>>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = {
      ...(body !== undefined && options.rawBody === undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    };
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${this.api.url}${path}`, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: parsed as T, text });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Creates a coupon through the API; times default to an open window and validity. */
  async createCoupon(overrides: Record<string, unknown> = {}): Promise<string> {
    const now = Date.now();
    const answer = await this.request('POST', '/admin/coupons', {
      token: await this.token('admin', 'admin'),
      body: {
        name: 'Test coupon', totalQuantity: 10, discount: { type: 'PERCENT', value: 10 },
        issueStartAt: new Date(now - 60_000).toISOString(), issueEndAt: new Date(now + 3_600_000).toISOString(),
        validFrom: new Date(now - 60_000).toISOString(), validUntil: new Date(now + 86_400_000).toISOString(),
        ...overrides,
      },
    });
    if (answer.status !== 201) throw new Error(`create failed: ${answer.status} ${answer.text}`);
    return answer.body.id as string;
  }

  /** Entries of a coupon's shard still waiting in the outbox. */
  outboxLength(couponId: string): Promise<number> {
    return this.runtime.redis.xlen(shardKeys(shardOf(couponId, this.runtime.config.admission.shards)).outbox);
  }

  /** Every event of a coupon in the log, in log order, validated against the event schemas. */
  async eventsOf(couponId: string): Promise<CouponEvent[]> {
    const { topic, partitions } = this.runtime.config.kafka;
    const messages = await this.runtime.kafka.readToEnd(topic, partitionFor(couponId, partitions), 0n);
    return messages.filter((m) => m.key === couponId).map((m) => parseCouponEvent(JSON.parse(m.value!)));
  }

  /** Every event of this file's topic, partition by partition. */
  async allEvents(): Promise<CouponEvent[]> {
    const { topic, partitions } = this.runtime.config.kafka;
    const perPartition = await Promise.all(Array.from({ length: partitions }, (_, p) => this.runtime.kafka.readToEnd(topic, p, 0n)));
    return perPartition.flat().map((m) => parseCouponEvent(JSON.parse(m.value!)));
  }

  /** Waits until the relay has emptied the coupon's outbox shard (and the shard of each of its stock buckets). */
  async drained(couponId: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const placed = await this.runtime.redis.hget(couponKeys(couponId, this.runtime.config.admission.shards).coupon, 'bsh');
    const shards = layoutFrom(couponId, placed)?.shards ?? [shardOf(couponId, this.runtime.config.admission.shards)];
    const outboxes = [...new Set(shards)].map((shard) => shardKeys(shard).outbox);
    for (;;) {
      const pending = await Promise.all(outboxes.map((key) => this.runtime.redis.xlen(key)));
      if (pending.every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`outboxes of ${couponId} not drained in ${timeoutMs} ms: ${pending.join(', ')} entries left`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
