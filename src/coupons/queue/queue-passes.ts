import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ShownPass } from '../rules/coupon-rules.ts';

/**
 * Waiting-room passes: `<payload>.<HMAC-SHA256>`, the payload naming the coupon, the person and the expiry. The
 * signature lets any API process tell a pass it granted from a forged or altered one without asking Redis;
 * whether it is still live (not used, not lapsed) is issue.lua's to say, from the room's record.
 */
export class QueuePasses {
  private readonly key: Buffer;

  /** `secret`: QUEUE_PASS_SECRET, or one derived from the JWT secret so a deployment needs no new setting. */
  constructor(secret: string, derived: boolean) {
    this.key = derived ? createHmac('sha256', secret).update('queue-pass').digest() : Buffer.from(secret);
  }

  sign(couponId: string, person: string, expiresAtMs: number): string {
    const payload = Buffer.from(JSON.stringify({ c: couponId, p: person, e: expiresAtMs })).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /**
   * The pass as shown for `couponId`: undefined when absent, forged, altered or for another coupon. Whether it has
   * lapsed is left to Redis's clock (issue.lua), the one the room's grants and the ticket view read.
   */
  read(token: string | undefined, couponId: string): ShownPass | undefined {
    if (!token || token.length > 2_048) return undefined;
    const parts = token.split('.');
    if (parts.length !== 2) return undefined;
    const [payload, mac] = parts as [string, string];
    // Compared as the bytes they decode to: a header's latin-1 text can be as long as the MAC in characters and not in bytes.
    const shown = Buffer.from(mac, 'base64url');
    const expected = this.mac(payload);
    if (shown.length !== expected.length || !timingSafeEqual(shown, expected)) return undefined;
    const { c, p, e } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { c?: unknown; p?: unknown; e?: unknown };
    if (c !== couponId || typeof p !== 'string' || typeof e !== 'number') return undefined;
    return { person: p, expiresAtMs: e };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }
}
