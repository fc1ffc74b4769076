import nodemailer from 'nodemailer';
import { describe } from '../notice.ts';
import type { Channel } from './channel.ts';

/**
 * A send is given up well inside the 60 s a delivery claim lasts (CLAIM_MS), so no other notifier can
 * claim and send the same notice while this one is still talking to the server.
 */
export const EMAIL_SEND_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

/** Sends each notice as a plain-text email over SMTP, to users whose account has an email. */
export function emailChannel(smtpUrl: string, from: string): Channel {
  const url = new URL(smtpUrl);
  for (const [name, ms] of Object.entries(SOCKET_TIMEOUTS)) if (!url.searchParams.has(name)) url.searchParams.set(name, String(ms));
  const transport = nodemailer.createTransport(url.toString());
  return {
    name: 'email',
    reaches: (recipient) => Boolean(recipient.email),
    async send(notice, recipient) {
      const { subject, text } = describe(notice);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        transport.sendMail({ from, to: recipient.email, subject, text, headers: { 'X-Coupon-Notification-Id': notice.id } }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`email not sent within ${EMAIL_SEND_TIMEOUT_MS} ms`)), EMAIL_SEND_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    async close() {
      transport.close();
    },
  };
}
