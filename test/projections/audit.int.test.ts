import * as assert from 'uvu/assert';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
let couponId!: string;

/** A coupon with three holders, one of whom used theirs, relayed and projected. */
async function auditedHistory(): Promise<Harness> {
  harness = await Harness.start({ relay: true, projector: true });
  couponId = await harness.createCoupon({ totalQuantity: 5 });
  const tokens = await Promise.all(['a1', 'a2', 'a3'].map((u) => harness.token(u)));
  const issued = await Promise.all(tokens.map((token) => harness.request('POST', `/coupons/${couponId}/issue`, { token })));
  await harness.request('POST', `/issued-coupons/${issued[0]!.body.issuedCouponId}/use`, { token: tokens[0] });
  await harness.drained(couponId);
  await harness.projected();
  return harness;
}

const audit = spec('npm run audit', auditedHistory);

audit('a clean history passes and exits 0, with a readable report', async () => {
  const { code, output } = await runCli('audit', ['--coupon', couponId]);
  assert.is(code, 0, output);
  assert.match(output, /5 events, 1 coupons/);
  assert.match(output, /OK   invariants/);
  assert.match(output, /OK   read models/);
  assert.match(output, /OK   Redis admission state/);
  assert.match(output, /The audit passed\./);
});

audit('a tampered MySQL row makes it exit 1 and name the difference', async () => {
  await harness.runtime.db.updateTable('coupon').set((eb) => ({ issued_count: eb('issued_count', '+', 1) })).where('id', '=', couponId).execute();
  try {
    const { code, output } = await runCli('audit', ['--coupon', couponId]);
    assert.is(code, 1, output);
    assert.match(output, /FAIL read models .*\(1\)/);
    assert.match(output, new RegExp(`coupon ${couponId}: issued_count 4, the log says 3`));
    assert.match(output, /The audit FAILED\./);
  } finally {
    await harness.runtime.db.updateTable('coupon').set((eb) => ({ issued_count: eb('issued_count', '-', 1) })).where('id', '=', couponId).execute();
  }
});

audit('a deleted Redis key makes it exit 1 and name the difference', async () => {
  const { holders } = couponKeys(couponId, harness.runtime.config.admission.shards);
  const saved = await harness.runtime.redis.hgetall(holders);
  await harness.runtime.redis.del(holders);
  try {
    const { code, output } = await runCli('audit', ['--coupon', couponId]);
    assert.is(code, 1, output);
    assert.match(output, /FAIL Redis admission state/);
    assert.match(output, /Redis does not record a2 holding/);
  } finally {
    await harness.runtime.redis.hset(holders, saved);
  }
  assert.is((await runCli('audit', ['--coupon', couponId])).code, 0, 'and passes again once repaired');
});

audit.run();
