import * as assert from 'uvu/assert';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness } from '../support/api-harness.ts';
import { runCli, spawnApp } from '../support/app-process.ts';
import { spec } from '../support/spec.ts';
import { flushEveryNode } from '../../src/redis/redis-client.ts';

let harness!: Harness;
const recovery = spec('admission state rebuilt from the log after Redis loses it', async () => (harness = await Harness.start({ relay: true, projector: true })));

async function soldOutCoupon(prefix: string): Promise<{ couponId: string; holders: Map<string, string> }> {
  const couponId = await harness.createCoupon({ totalQuantity: 50 });
  const holders = new Map<string, string>();
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const token = await harness.token(`${prefix}-${i}`);
    const answer = await harness.request('POST', `/coupons/${couponId}/issue`, { token });
    holders.set(`${prefix}-${i}`, String(answer.body.issuedCouponId));
    if (i < 10) await harness.request('POST', `/issued-coupons/${answer.body.issuedCouponId}/use`, { token });
  }));
  await harness.drained(couponId);
  await harness.projected();
  return { couponId, holders };
}

async function admitted(couponId: string, users: string[]): Promise<{ created: number; codes: Set<string> }> {
  const answers = await Promise.all(users.map(async (u) => harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(u) })));
  return { created: answers.filter((a) => a.status === 201).length, codes: new Set(answers.map((a) => String(a.body.code))) };
}

recovery('FLUSHDB (all admission state lost), then recovery, then 1,000 more askers for a sold-out coupon: none admitted, holders keep theirs', async () => {
  const { couponId, holders } = await soldOutCoupon('flush');
  await flushEveryNode(harness.runtime.redis);
  const { code, output } = await runCli('restore-admission');
  assert.is(code, 0, output);
  assert.match(output, /restored \d+ coupon/);

  const newcomers = await admitted(couponId, Array.from({ length: 1_000 }, (_, i) => `late-${i}`));
  assert.is(newcomers.created, 0, 'sold-out stock did not reopen');
  assert.equal([...newcomers.codes], ['SOLD_OUT']);
  const again = await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('flush-7') });
  assert.is(again.body.code, 'ALREADY_ISSUED');
  assert.is(again.body.issuedCouponId, holders.get('flush-7'), 'a holder keeps the same coupon');
  const reuse = await harness.request('POST', `/issued-coupons/${holders.get('flush-3')}/use`, { token: await harness.token('flush-3') });
  assert.is(reuse.body.code, 'ALREADY_USED', 'a used coupon stays used');
  assert.ok((await harness.audit(couponId)).redisDifferences.length === 0);
});

recovery('a coupon key lost on its own is restored on the next request, with no operator', async () => {
  const { couponId } = await soldOutCoupon('partial');
  await harness.runtime.redis.del(couponKeys(couponId, harness.runtime.config.admission.shards).coupon);
  const newcomers = await admitted(couponId, Array.from({ length: 200 }, (_, i) => `partial-late-${i}`));
  assert.is(newcomers.created, 0);
  assert.equal([...newcomers.codes], ['SOLD_OUT']);
  assert.is((await harness.request('GET', `/coupons/${couponId}`, { token: await harness.token('x') })).body.remainingQuantity, 0);
});

recovery('an API starting against an empty Redis restores admission state before it serves', async () => {
  const { couponId } = await soldOutCoupon('startup');
  await flushEveryNode(harness.runtime.redis);
  const api = await spawnApp({ ROLES: 'api', LOG_LEVEL: 'warn' });
  try {
    assert.is(await harness.runtime.redis.exists(couponKeys(couponId, harness.runtime.config.admission.shards).coupon), 1, 'restored before the URL was printed');
  } finally {
    await api.stop();
  }
  assert.is((await admitted(couponId, ['startup-late'])).created, 0);
});

recovery('with no log yet (a fresh deployment), there is nothing to restore and nothing fails', async () => {
  const { AdmissionRecovery } = await import('../../src/coupons/recovery/admission-recovery.ts');
  const { logAndStores } = await import('../../src/runtime/runtime.ts');
  const fresh = new AdmissionRecovery({ ...logAndStores(harness.runtime), topic: `never-created-${Date.now()}` });
  assert.equal(await fresh.restore(), []);
});

recovery.run();
