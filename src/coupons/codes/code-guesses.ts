import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Problem } from '../../http/problem.ts';
import { whenRedisUnavailable } from '../../redis/redis-client.ts';

export interface CodeGuessLimits {
  perCaller: number;
  perAddress: number;
  windowSeconds: number;
}

/** One more attempt, unless `limit` were passed: answers 0, or the seconds until the window resets. */
const RESERVE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n <= tonumber(ARGV[1]) then return 0 end
redis.call('DECR', KEYS[1])
return math.max(1, redis.call('TTL', KEYS[1]))`;
/** Answers 0 while under `limit`, else the seconds until the window resets. */
const READ = `
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then return 0 end
return math.max(1, redis.call('TTL', KEYS[1]))`;
const COUNT = `if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end`;
/** An attempt given back; never below none (a window gone, or begun again since the attempt was taken). */
const REFUND = `if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end`;

const hashed = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * Misses on the by-code routes (a code naming no coupon the caller may claim), counted per caller and per client
 * address in fixed windows in Redis, shared by every API process. Past either limit the route answers 429 with
 * Retry-After before the code is looked up, so a throttled guesser learns nothing, not even that a code is real.
 *
 * A caller's attempt is taken before the lookup and given back once it found something to claim: exact under
 * any burst. An address is only read before and counted after a miss: a crowd behind one address claiming a
 * real code at its opening second is never throttled, and a burst of guesses from one address may pass its limit
 * by as many as it sends at once (each caller in it still stops at theirs).
 */
export class CodeGuesses {
  private readonly redis: Redis;
  private readonly limits: CodeGuessLimits;

  constructor(redis: Redis, limits: CodeGuessLimits) {
    this.redis = redis;
    this.limits = limits;
  }

  private run(script: string, key: string, ...args: (string | number)[]): Promise<unknown> {
    return this.redis.eval(script, 1, key, ...args).catch(whenRedisUnavailable);
  }

  private callerKey = (caller: string) => `codeguess:caller:${hashed(caller)}`;
  private addressKey = (address: string) => `codeguess:addr:${hashed(address)}`;

  /** Takes one attempt for the caller; 429 when the caller or their address missed as often as allowed. */
  async admit(caller: string, address: string): Promise<void> {
    const { perCaller, perAddress, windowSeconds } = this.limits;
    const [reserved, read] = await Promise.allSettled([
      this.run(RESERVE, this.callerKey(caller), perCaller, windowSeconds) as Promise<number>,
      this.run(READ, this.addressKey(address), perAddress) as Promise<number>,
    ]);
    const callerWait = reserved.status === 'fulfilled' ? reserved.value : undefined;
    const addressWait = read.status === 'fulfilled' ? read.value : undefined;
    if (callerWait === 0 && addressWait === 0) return;
    // An attempt taken and not made (the address over its limit, or unread) is given back.
    if (callerWait === 0) await this.giveBack(caller);
    if (reserved.status === 'rejected') throw reserved.reason;
    if (read.status === 'rejected') throw read.reason;
    const retryAfter = String(Math.max(callerWait!, addressWait!));
    throw new Problem('RATE_LIMITED', `Too many codes that name no coupon you may claim; retry in ${retryAfter} s`, {}, { 'Retry-After': retryAfter });
  }

  /** The attempt found a coupon the caller may claim (or was no guess): given back. */
  async giveBack(caller: string): Promise<void> {
    await this.run(REFUND, this.callerKey(caller));
  }

  /** The attempt was a miss: it stays counted for the caller, and counts for their address. */
  async missed(address: string): Promise<void> {
    await this.run(COUNT, this.addressKey(address), this.limits.windowSeconds);
  }
}
