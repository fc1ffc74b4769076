import nodemailer from 'nodemailer';
import { describe } from '../notice.ts';
import type { Channel } from './channel.ts';

/** Sends each notice as a plain-text email over SMTP, to users whose account has an email. */
export function emailChannel(smtpUrl: string, from: string): Channel {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    name: 'email',
    reaches: (recipient) => Boolean(recipient.email),
    async send(notice, recipient) {
      const { subject, text } = describe(notice);
      await transport.sendMail({ from, to: recipient.email, subject, text, headers: { 'X-Coupon-Notification-Id': notice.id } });
    },
    async close() {
      transport.close();
    },
  };
}
