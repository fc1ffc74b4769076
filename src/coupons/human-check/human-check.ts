import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { DependencyUnavailable } from '../../dependencies/dependency-unavailable.ts';
import { BoundedCache } from '../../memory/bounded-cache.ts';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';

const hashed = (text: string) => createHash('sha256').update(text).digest('base64url');
/** A token being verified now (a caller's mark is a hash, never this). */
const VERIFYING = 'verifying';

export interface HumanCheckSettings {
  /** A Turnstile/hCaptcha-style siteverify endpoint; unset, no token is ever verified. */
  url?: string;
  secret?: string;
  /** How long a verdict stands for its token (the verifier accepts each token once). */
  ttlSeconds: number;
  timeoutMs: number;
}

/** What the issue scripts are told: verified ('1'), refused by the verifier ('0'), or no token sent (''). */
export type HumanVerdict = '1' | '0' | '';

/**
 * The bot gate: a client's human-check token (header `Human-Check`) verified server-side by POSTing it, with the
 * secret and the client's address, to the verifier, as Turnstile's and hCaptcha's siteverify take it. A verdict is
 * kept in Redis for the token's lifetime, shared by every API process: such verifiers accept a token once, so a
 * retry, or the same token on another process, must meet the first verdict rather than a "duplicate". Whether a
 * coupon asks for a check is the issue script's to say (its `hc`); this only says what the token is worth, and is
 * asked only for a coupon behind the gate, so a header sent elsewhere costs the verifier nothing.
 */
export class HumanCheck {
  private readonly redis: Redis;
  private readonly settings: HumanCheckSettings;
  private readonly gated = new BoundedCache<string, true>(1 << 20, (couponId) => 64 + couponId.length);

  constructor(redis: Redis, settings: HumanCheckSettings) {
    this.redis = redis;
    this.settings = settings;
  }

  /** Whether a verifier is set: a coupon may ask for a check only then, or nobody could ever pass it. */
  get configured(): boolean {
    return this.settings.url !== undefined;
  }

  /**
   * The token's worth to `caller`: '1' only for the caller who first passed with it (a solved check is one
   * person's, not a pass for every account a bot holds), '0' when refused or another's, '' when none was sent.
   * One request at a time verifies a token (the verifier accepts each once: a double submit would otherwise meet
   * "duplicate"); the others wait for its verdict. Only a pass is kept: a refusal leaves nothing behind.
   */
  async verdict(token: string | undefined, caller: string, address: string): Promise<HumanVerdict> {
    if (!token) return '';
    if (token.length > 4096 || !this.settings.url) return '0';
    const key = `humancheck:${hashed(token)}`;
    const holder = hashed(caller);
    const patience = this.settings.timeoutMs + 1_000;
    for (let waited = 0; ; waited += 50) {
      if ((await this.redis.set(key, VERIFYING, 'PX', patience, 'NX').catch(whenRedisUnavailable)) === 'OK') break;
      const seen = await this.redis.get(key).catch(whenRedisUnavailable);
      if (seen !== null && seen !== VERIFYING) return seen === holder ? '1' : '0';
      if (waited >= patience) throw new DependencyUnavailable('human-check', new Error('another request is still verifying this token'), true);
      if (seen === VERIFYING) await sleep(50);
    }
    let passed = false;
    try {
      passed = await this.verify(token, address);
    } finally {
      await (passed ? this.redis.set(key, holder, 'EX', this.settings.ttlSeconds) : this.redis.del(key)).catch(whenRedisUnavailable);
    }
    return passed ? '1' : '0';
  }

  /** The verdict this caller's token already has, without verifying it (a dry run spends no check): '' when none yet. */
  async cachedVerdict(token: string | undefined, caller: string): Promise<HumanVerdict> {
    if (!token || token.length > 4096) return '';
    const seen = await this.redis.get(`humancheck:${hashed(token)}`).catch(whenRedisUnavailable);
    if (seen === null || seen === VERIFYING) return '';
    return seen === hashed(caller) ? '1' : '0';
  }

  /**
   * Runs a decision past the bot gate: a token is verified only for a coupon behind it (the script says so, and
   * this process then remembers), so a header sent elsewhere costs the verifier nothing and an outage of it stops
   * only the coupons that need it.
   */
  async behindGate<R extends { outcome: string }>(couponId: string, token: string | undefined, caller: string, address: string, decision: (human: HumanVerdict) => Promise<R>): Promise<R> {
    const human = token && this.knownGated(couponId) ? await this.verdict(token, caller, address) : '';
    const result = await decision(human);
    if (result.outcome !== 'HUMAN_CHECK_FAILED' || human !== '') return result;
    this.learnGated(couponId);
    return token ? decision(await this.verdict(token, caller, address)) : result;
  }

  /** A coupon found behind the gate (it never leaves it): its askers' tokens are verified before the script, not after a refusal. */
  learnGated(couponId: string): void {
    this.gated.set(couponId, true);
  }

  knownGated(couponId: string): boolean {
    return this.gated.get(couponId) === true;
  }

  private async verify(token: string, address: string): Promise<boolean> {
    const form = new URLSearchParams({ response: token, remoteip: address, ...(this.settings.secret ? { secret: this.settings.secret } : {}) });
    try {
      const response = await fetch(this.settings.url!, { method: 'POST', body: form, signal: AbortSignal.timeout(this.settings.timeoutMs) });
      if (!response.ok) throw new Error(`the verifier answered ${response.status}`);
      return ((await response.json()) as { success?: unknown }).success === true;
    } catch (error) {
      // No verdict is not a "no": the asker is told to retry, and nothing was changed.
      throw new DependencyUnavailable('human-check', error, true);
    }
  }
}
