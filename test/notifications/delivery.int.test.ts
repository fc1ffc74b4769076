import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { startNotifier } from '../../src/roles/notifier-role.ts';
import { Harness } from '../support/api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { startSmtpReceiver, startWebhookReceiver } from '../support/notice-receivers.ts';
import { spec } from '../support/spec.ts';

const secret = 'webhook-secret-for-the-tests';
let webhook!: Awaited<ReturnType<typeof startWebhookReceiver>>;
let smtp!: Awaited<ReturnType<typeof startSmtpReceiver>>;
let harness!: Harness;
let admin!: string;

async function withReceivers(): Promise<Harness> {
  webhook = await startWebhookReceiver(secret);
  smtp = await startSmtpReceiver();
  harness = await Harness.start({
    relay: true,
    projector: true,
    notifier: true,
    env: {
      WEBHOOK_URL: webhook.url, WEBHOOK_SECRET: secret, SMTP_URL: smtp.url,
      DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_BACKOFF_MS: '50', DELIVERY_POLL_MS: '50',
    },
  });
  admin = await harness.token('admin-del', 'admin');
  return harness;
}

const delivery = spec('COUPON_USED notices and their delivery', withReceivers, async () => {
  await harness.close();
  await webhook.close();
  await smtp.close();
});

async function useACoupon(email: string): Promise<{ token: string; issuedCouponId: string }> {
  await harness.request('POST', '/auth/signup', { body: { email, password: 'a long password' } });
  const token = String((await harness.request('POST', '/auth/login', { body: { email, password: 'a long password' } })).body.accessToken);
  const couponId = await harness.createCoupon({ name: 'Spring 15%' });
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  await harness.drained(couponId);
  await harness.projected();
  return { token, issuedCouponId: String(body.issuedCouponId) };
}

const deliveryOf = (issuedCouponId: string, channel: 'webhook' | 'email') =>
  harness.runtime.db
    .selectFrom('notification_delivery as d')
    .innerJoin('notification as n', 'n.id', 'd.notification_id')
    .select(['d.status', 'd.attempts', 'd.notification_id'])
    .where('n.issued_coupon_id', '=', issuedCouponId).where('d.channel', '=', channel)
    .executeTakeFirst();

delivery('a use gives one COUPON_USED notice: in the inbox, to the webhook signed, and as an email', async () => {
  const { token, issuedCouponId } = await useACoupon('kim@example.com');
  await harness.request('POST', `/issued-coupons/${issuedCouponId}/use`, { token, body: { orderId: 'order-42' } });

  const inbox = await eventually('the notice in the inbox',
    async () => (await harness.request<{ items: Record<string, unknown>[] }>('GET', '/me/notifications', { token })).body.items,
    (items) => items.length > 0);
  assert.is(inbox.length, 1);
  assert.equal([inbox[0]!.type, inbox[0]!.issuedCouponId, inbox[0]!.orderId, inbox[0]!.couponName], ['COUPON_USED', issuedCouponId, 'order-42', 'Spring 15%']);

  await eventually('the email delivered', () => deliveryOf(issuedCouponId, 'email'), (d) => d?.status === 'DELIVERED');
  await eventually('the webhook delivered', () => deliveryOf(issuedCouponId, 'webhook'), (d) => d?.status === 'DELIVERED');
  const calls = webhook.calls.filter((c) => c.notice.issuedCouponId === issuedCouponId);
  assert.is(calls.length, 1);
  assert.ok(calls[0]!.signatureValid, 'the HMAC-SHA256 signature checks out');
  assert.is(calls[0]!.notice.id, inbox[0]!.id);
  const mails = smtp.mails.filter((m) => m.raw.includes(issuedCouponId));
  assert.is(mails.length, 1);
  assert.equal(mails[0]!.to, ['kim@example.com']);
  assert.match(mails[0]!.raw, /Subject: Spring 15% was used/);
});

delivery('a webhook that fails twice then succeeds ends with exactly one successful delivery', async () => {
  const { token, issuedCouponId } = await useACoupon('lee@example.com');
  webhook.failNext(issuedCouponId, 2);
  await harness.request('POST', `/issued-coupons/${issuedCouponId}/use`, { token });
  const done = await eventually('the webhook delivered', () => deliveryOf(issuedCouponId, 'webhook'), (d) => d?.status === 'DELIVERED');
  assert.equal([done!.status, done!.attempts], ['DELIVERED', 3]);
  await sleep(300);
  const answers = webhook.calls.filter((c) => c.notice.issuedCouponId === issuedCouponId).map((c) => c.answered);
  assert.equal(answers, [500, 500, 204], 'two failures, one success, nothing after');
});

delivery('a webhook that always fails ends dead; an admin sees it, retries once it recovers, and it is delivered once', async () => {
  const { token, issuedCouponId } = await useACoupon('max@example.com');
  webhook.failNext(issuedCouponId, 1_000);
  await harness.request('POST', `/issued-coupons/${issuedCouponId}/use`, { token });
  const dead = await eventually('the webhook delivery dead', () => deliveryOf(issuedCouponId, 'webhook'), (d) => d?.status === 'DEAD');
  assert.equal([dead!.status, dead!.attempts], ['DEAD', 3]);
  const listed = await harness.request<{ items: { notificationId: string; channel: string; lastError: string }[] }>('GET', '/admin/deliveries?status=DEAD', { token: admin });
  const entry = listed.body.items.find((d) => d.notificationId === dead!.notification_id);
  assert.ok(entry, 'the dead delivery is listed');
  assert.match(entry.lastError, /500/);

  webhook.failNext(issuedCouponId, 0);
  const retry = await harness.request('POST', `/admin/deliveries/${dead!.notification_id}/webhook/retry`, { token: admin });
  assert.is(retry.status, 200);
  await eventually('the webhook delivered', () => deliveryOf(issuedCouponId, 'webhook'), (d) => d?.status === 'DELIVERED');
  await sleep(300);
  const successes = webhook.calls.filter((c) => c.notice.issuedCouponId === issuedCouponId && c.answered === 204);
  assert.is(successes.length, 1);
  const again = await harness.request('POST', `/admin/deliveries/${dead!.notification_id}/webhook/retry`, { token: admin });
  assert.is(again.body.code, 'DELIVERY_NOT_DEAD');
});

delivery('a user with no local account (an external identity) gets the inbox and the webhook, no email', async () => {
  const token = await harness.token('external-user-7');
  const couponId = await harness.createCoupon();
  const { body } = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
  await harness.request('POST', `/issued-coupons/${body.issuedCouponId}/use`, { token });
  await eventually('the webhook delivered', () => deliveryOf(String(body.issuedCouponId), 'webhook'), (d) => d?.status === 'DELIVERED');
  const calls = webhook.calls.filter((c) => c.notice.issuedCouponId === body.issuedCouponId);
  assert.equal(calls.map((c) => [c.notice.userId, c.signatureValid, c.answered]), [['external-user-7', true, 204]], 'the receiver got it once, signed');
  assert.is(await deliveryOf(String(body.issuedCouponId), 'email'), undefined);
  assert.is((await harness.request<{ items: unknown[] }>('GET', '/me/notifications', { token })).body.items.length, 1);
});

delivery('notices raised while the notifier is down are delivered when it starts again', async () => {
  await harness.notifier!.stop();
  const { token, issuedCouponId } = await useACoupon('nora@example.com');
  await harness.request('POST', `/issued-coupons/${issuedCouponId}/use`, { token });
  await harness.drained(issuedCouponId.split('.')[0]!);
  await sleep(500);
  assert.is(webhook.calls.filter((c) => c.notice.issuedCouponId === issuedCouponId).length, 0, 'nothing is sent while it is down');
  harness.notifier = await startNotifier(harness.runtime);
  await eventually('the webhook delivered', () => deliveryOf(issuedCouponId, 'webhook'), (d) => d?.status === 'DELIVERED');
  await eventually('the email delivered', () => deliveryOf(issuedCouponId, 'email'), (d) => d?.status === 'DELIVERED');
  assert.is(webhook.calls.filter((c) => c.notice.issuedCouponId === issuedCouponId).length, 1);
});

delivery.run();
