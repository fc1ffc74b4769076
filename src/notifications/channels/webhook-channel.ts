import { createHmac } from 'node:crypto';
import type { Channel } from './channel.ts';

export const SIGNATURE_HEADER = 'x-coupon-signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver checks the body and can refuse old replays. */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs each notice as JSON; anything but a 2xx within 5 s is a failed attempt. */
export function webhookChannel(url: string, secret: string): Channel {
  return {
    name: 'webhook',
    reaches: () => true,
    async send(notice) {
      const body = JSON.stringify(notice);
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(secret, body, Math.floor(Date.now() / 1000)),
          'x-coupon-notification-id': notice.id,
        },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
}
