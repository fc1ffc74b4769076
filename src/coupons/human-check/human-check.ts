import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DependencyUnavailable } from '../../dependencies/dependency-unavailable.ts';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';

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
 * coupon asks for a check is the issue script's to say (its `hc`); this only says what the token is worth.
 */
export class HumanCheck {
  private readonly redis: Redis;
  private readonly settings: HumanCheckSettings;

  constructor(redis: Redis, settings: HumanCheckSettings) {
    this.redis = redis;
    this.settings = settings;
  }

  /** Whether a verifier is set: a coupon may ask for a check only then, or nobody could ever pass it. */
  get configured(): boolean {
    return this.settings.url !== undefined;
  }

  async verdict(token: string | undefined, address: string): Promise<HumanVerdict> {
    if (!token) return '';
    if (token.length > 4096 || !this.settings.url) return '0';
    const key = `humancheck:${createHash('sha256').update(token).digest('base64url')}`;
    const known = await this.redis.get(key).catch(whenRedisUnavailable);
    if (known === '1' || known === '0') return known;
    const verdict = (await this.verify(token, address)) ? '1' : '0';
    // The first verdict stands: another process verifying the same token at once was told "duplicate".
    const kept = await this.redis.set(key, verdict, 'EX', this.settings.ttlSeconds, 'NX').catch(whenRedisUnavailable);
    if (kept === 'OK') return verdict;
    return ((await this.redis.get(key).catch(whenRedisUnavailable)) as HumanVerdict | null) ?? verdict;
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
