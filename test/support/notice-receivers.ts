import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { SIGNATURE_HEADER, signWebhook } from '../../src/notifications/channels/webhook-channel.ts';

export interface WebhookCall {
  notice: Record<string, unknown>;
  signatureValid: boolean;
  answered: number;
}

/** A real HTTP receiver: checks each signature, and fails a notice as many times as it is told to. */
export async function startWebhookReceiver(secret: string) {
  const calls: WebhookCall[] = [];
  const failures = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const header = String(req.headers[SIGNATURE_HEADER] ?? '');
      const timestamp = Number(/t=(\d+)/.exec(header)?.[1]);
      const notice = JSON.parse(body) as Record<string, unknown>;
      const left = failures.get(String(notice.issuedCouponId)) ?? 0;
      const answered = left > 0 ? 500 : 204;
      if (left > 0) failures.set(String(notice.issuedCouponId), left - 1);
      calls.push({ notice, signatureValid: header === signWebhook(secret, body, timestamp), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/coupons`,
    calls,
    failNext: (issuedCouponId: string, times: number) => failures.set(issuedCouponId, times),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A real SMTP server that keeps what it receives. */
export async function startSmtpReceiver() {
  const mails: { to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
