import { createHmac } from 'node:crypto';
import * as assert from 'uvu/assert';
import { describe, noticeOf } from '../../src/notifications/notice.ts';
import { signWebhook } from '../../src/notifications/channels/webhook-channel.ts';
import { spec } from '../support/spec.ts';

const notices = spec('notices as users read them');
const row = (type: 'COUPON_USED' | 'COUPON_EXPIRING', data: Record<string, string>) => ({
  id: 'n-1', user_id: 'u-1', type, issued_coupon_id: 'c.00000001', coupon_id: 'c', data: JSON.stringify(data),
  created_at: new Date('2026-12-01T09:00:00Z'), dispatched: 0,
});

notices('given a stored usage notice, then the notice carries its data and the coupon name', () => {
  const notice = noticeOf(row('COUPON_USED', { usedAt: '2026-12-01T08:59:00.000Z', orderId: 'o-9' }), 'Winter 10%');
  assert.equal(notice, {
    id: 'n-1', type: 'COUPON_USED', userId: 'u-1', issuedCouponId: 'c.00000001', couponId: 'c', couponName: 'Winter 10%',
    createdAt: '2026-12-01T09:00:00.000Z', usedAt: '2026-12-01T08:59:00.000Z', orderId: 'o-9',
  });
});

notices('an expiring notice says when; a used one says when and for which order', () => {
  const expiring = describe(noticeOf(row('COUPON_EXPIRING', { validUntil: '2026-12-08T00:00:00.000Z' }), 'Winter 10%'));
  assert.equal(expiring, { subject: 'Winter 10% expires soon', text: 'Winter 10% (c.00000001) is unused and expires at 2026-12-08T00:00:00.000Z.' });
  const used = describe(noticeOf(row('COUPON_USED', { usedAt: '2026-12-01T08:59:00.000Z', orderId: 'o-9' }), null));
  assert.equal(used.subject, 'Your coupon was used');
  assert.match(used.text, /for order o-9\.$/);
});

notices('the webhook signature is t=<seconds>,v1=<HMAC-SHA256 of "<t>.<body>">', () => {
  const header = signWebhook('secret-of-sixteen', '{"a":1}', 1_700_000_000);
  const expected = createHmac('sha256', 'secret-of-sixteen').update('1700000000.{"a":1}').digest('hex');
  assert.is(header, `t=1700000000,v1=${expected}`);
  assert.is.not(signWebhook('secret-of-sixteen', '{"a":2}', 1_700_000_000), header, 'another body, another signature');
});

notices.run();
