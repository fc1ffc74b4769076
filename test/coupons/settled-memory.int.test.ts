import * as assert from 'uvu/assert';
import type { Redis } from 'ioredis';
import { CouponChangeFeed, type ChangeListener } from '../../src/coupons/sold-out-memory/coupon-change-feed.ts';
import { SettledCoupons } from '../../src/coupons/sold-out-memory/settled-coupons.ts';
import { Harness } from '../support/api-harness.ts';
import { startDelayProxy } from '../support/delay-proxy.ts';
import { eventually } from '../support/eventually.ts';
import { spec } from '../support/spec.ts';
import { freePort } from '../support/free-port.ts';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

const memory = spec('the sold-out memory against a changing coupon and a failing subscription', () => Harness.start({ env: { USER_LIMIT: '100000' } }));

interface Gate { arrived: Promise<void>; open(): void; done: Promise<void> }

/**
 * The process's real Redis client, with HMGET calls held at a gate each (in order) until the test opens it: the
 * one read a holder load makes after scanning the holders, so a test can choose when each load finishes.
 */
function gatedHmget(redis: Redis, count: number): { client: Redis; gates: Gate[] } {
  const waiting: { arrive: () => void; opened: Promise<void>; finish: () => void }[] = [];
  const gates = Array.from({ length: count }, () => {
    let arrive!: () => void, open!: () => void, finish!: () => void;
    const gate = { arrived: new Promise<void>((r) => (arrive = r)), open: () => open(), done: new Promise<void>((r) => (finish = r)) };
    waiting.push({ arrive, opened: new Promise<void>((r) => (open = r)), finish });
    return gate;
  });
  const client = new Proxy(redis, {
    get(target, property) {
      if (property === 'hmget') {
        return async (...args: Parameters<Redis['hmget']>) => {
          const gate = waiting.shift();
          gate?.arrive();
          await gate?.opened;
          const reply = await target.hmget(...args);
          setImmediate(() => gate?.finish());
          return reply;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client, gates };
}

/** Forwards to the memory and keeps what it heard, so a test can wait for a message to have arrived. */
function recording(listener: SettledCoupons): ChangeListener & { reopenedIds: string[]; lostCount: number } {
  const heard = { reopenedIds: [] as string[], lostCount: 0 };
  return Object.assign(heard, {
    closed: (id: string) => listener.closed(id),
    reopened: (id: string) => {
      listener.reopened(id);
      heard.reopenedIds.push(id);
    },
    live: () => listener.live(),
    lost: () => {
      listener.lost();
      heard.lostCount++;
    },
  });
}

const shardsOf = (harness: Harness) => harness.runtime.config.admission.shards;
const issue = async (harness: Harness, couponId: string, user: string) =>
  harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user) });
const addStock = async (harness: Harness, couponId: string) =>
  harness.request('POST', `/admin/coupons/${couponId}/stock`, { token: await harness.token('root', 'admin'), body: { add: 1 } });

memory('given a first holder load that finishes after the coupon was reopened and sold out again, then it installs nothing, and the second load answers the new holder ALREADY_ISSUED', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 1 });
  assert.is((await issue(harness, couponId, 'ann')).status, 201);
  const { client, gates: [first, second] } = gatedHmget(harness.runtime.redis, 2);
  const settled = new SettledCoupons(client, shardsOf(harness), harness.runtime.logger);
  const heard = recording(settled);
  const feed = new CouponChangeFeed(heard, { nodes: [harness.runtime.config.redisUrl], publishers: () => [harness.runtime.redis] }, harness.runtime.logger);
  await feed.start();
  try {
    settled.learn(couponId, 'SOLD_OUT');
    await first!.arrived; // the first load has read the holders: ann alone
    assert.is((await addStock(harness, couponId)).status, 200);
    await eventually('the reopening heard', () => heard.reopenedIds, (ids) => ids.includes(couponId));
    const bob = await issue(harness, couponId, 'bob');
    assert.is(bob.status, 201);
    settled.learn(couponId, 'SOLD_OUT');
    await second!.arrived; // the second load has read ann and bob
    first!.open();
    await first!.done;
    second!.open();
    await second!.done;
    assert.equal(settled.answer(couponId, 'bob'), { outcome: 'ALREADY_ISSUED', issuedCouponId: bob.body.issuedCouponId });
    assert.equal(settled.answer(couponId, 'cat'), { outcome: 'SOLD_OUT' });
  } finally {
    await feed.stop();
  }
});

memory('given its subscription cut, or stalled without closing, then memory stops answering at once (closed) or within the heartbeat\'s silence (stalled), and a reopening it missed is never answered as SOLD_OUT', async (harness) => {
  const url = new URL(harness.runtime.config.redisUrl);
  for (const fault of ['cut', 'stall'] as const) {
    const couponId = await harness.createCoupon({ totalQuantity: 1 });
    assert.is((await issue(harness, couponId, `first-${fault}`)).status, 201);
    const proxy = await startDelayProxy({ host: url.hostname, port: Number(url.port) });
    const settled = new SettledCoupons(harness.runtime.redis, shardsOf(harness), harness.runtime.logger);
    const heard = recording(settled);
    const feed = new CouponChangeFeed(heard, { nodes: [`redis://127.0.0.1:${proxy.port}`], publishers: () => [harness.runtime.redis], heartbeatMs: 100, silenceMs: 600 }, harness.runtime.logger);
    await feed.start();
    try {
      settled.learn(couponId, 'SOLD_OUT');
      await eventually('answered from memory', () => settled.answer(couponId, 'someone'), (a) => a?.outcome === 'SOLD_OUT');
      if (fault === 'cut') await proxy.close();
      else proxy.delay(60_000);
      await eventually(`memory forgets after the ${fault}`, () => heard.lostCount, (n) => n > 0, { timeoutMs: fault === 'cut' ? 1_000 : 3_000, everyMs: 10 });
      assert.is((await addStock(harness, couponId)).status, 200);
      assert.is(settled.answer(couponId, 'someone'), undefined, 'the asker goes to Redis, which admits');
      assert.is((await issue(harness, couponId, `second-${fault}`)).status, 201);
    } finally {
      await feed.stop();
      await proxy.close();
    }
  }
});

memory('given holders worth more bytes than the budget, then that coupon is asked of Redis; coupons within it are kept, the earliest forgotten first', async (harness) => {
  const long = await harness.createCoupon({ totalQuantity: 300 });
  await Promise.all(Array.from({ length: 300 }, (_, i) => issue(harness, long, `${'x'.repeat(150)}-${i}`)));
  const small = await Promise.all([0, 1, 2].map(async (n) => {
    const couponId = await harness.createCoupon({ totalQuantity: 20 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => issue(harness, couponId, `s${n}-${i}`)));
    return couponId;
  }));
  // 20 holders of about 85 bytes each: two such coupons fit in 4,000 bytes, three do not; 300 long ids (about 70 KB) never.
  const settled = new SettledCoupons(harness.runtime.redis, shardsOf(harness), harness.runtime.logger, { budgetBytes: 4_000 });
  const feed = new CouponChangeFeed(settled, { nodes: [harness.runtime.config.redisUrl], publishers: () => [harness.runtime.redis] }, harness.runtime.logger);
  await feed.start();
  try {
    const kept = async (couponId: string) => {
      settled.learn(couponId, 'SOLD_OUT');
      await new Promise((r) => setTimeout(r, 200));
      return settled.answer(couponId, 'nobody') !== undefined;
    };
    assert.is(await kept(long), false, 'over the budget alone');
    assert.equal([await kept(small[0]!), await kept(small[1]!)], [true, true]);
    assert.is(await kept(small[2]!), true);
    assert.equal(small.map((id) => settled.answer(id, 'nobody') !== undefined), [false, true, true], 'the earliest made room');
  } finally {
    await feed.stop();
  }
});

memory('given first nodes that take the subscription but never hear this Redis (another server), or never answer (a stopped one), then the feed goes live only on one that hears its heartbeat, and a reopening there is never answered SOLD_OUT', async (harness) => {
  const port = await freePort();
  const foreign = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await eventually('the other server', () => new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1').on('connect', () => {
        probe.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    }), (up) => up);
    for (const foreignState of ['deaf', 'stopped'] as const) {
      if (foreignState === 'stopped') foreign.kill('SIGSTOP');
      const couponId = await harness.createCoupon({ totalQuantity: 1 });
      assert.is((await issue(harness, couponId, `held-${foreignState}`)).status, 201);
      const settled = new SettledCoupons(harness.runtime.redis, shardsOf(harness), harness.runtime.logger);
      const nodes = [`redis://127.0.0.1:${port}`, harness.runtime.config.redisUrl];
      const feed = new CouponChangeFeed(settled, { nodes, publishers: () => [harness.runtime.redis], heartbeatMs: 100, silenceMs: 600 }, harness.runtime.logger);
      const started = Date.now();
      try {
        settled.learn(couponId, 'SOLD_OUT');
        await Promise.race([feed.start(), new Promise((_, reject) => setTimeout(() => reject(new Error(`never live past a ${foreignState} node`)), 5_000))]);
        assert.ok(Date.now() - started >= 600, `live after ${Date.now() - started} ms: not on the ${foreignState} node`);
        settled.learn(couponId, 'SOLD_OUT');
        await eventually('answered from memory', () => settled.answer(couponId, 'someone'), (a) => a?.outcome === 'SOLD_OUT');
        assert.is((await addStock(harness, couponId)).status, 200);
        await eventually('the reopening heard', () => settled.answer(couponId, 'someone'), (a) => a === undefined, { timeoutMs: 1_000, everyMs: 10 });
      } finally {
        await feed.stop();
      }
    }
  } finally {
    foreign.kill('SIGKILL');
  }
});

memory('given a memory no message reaches (its subscription slow), when stock is added through the API, then by the time the admin is answered it answers nothing from before: its lease on the sold-out read ran out or was not renewed', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 1 });
  assert.is((await issue(harness, couponId, 'first-lease')).status, 201);
  const settled = new SettledCoupons(harness.runtime.redis, shardsOf(harness), harness.runtime.logger);
  settled.live(); // as if subscribed, but nothing it is told will arrive
  try {
    settled.learn(couponId, 'SOLD_OUT');
    await eventually('answered from memory', () => settled.answer(couponId, 'someone'), (a) => a?.outcome === 'SOLD_OUT');
    assert.is((await addStock(harness, couponId)).status, 200);
    assert.is(settled.answer(couponId, 'someone'), undefined, 'the next asker goes to Redis');
    assert.is((await issue(harness, couponId, 'second-lease')).status, 201);
  } finally {
    settled.stop();
  }
});

memory('given this process\'s clock a minute ahead of Redis\'s, past a sold-out coupon\'s window end, when Redis goes on answering SOLD_OUT, then its holders are scanned once and every asker is sent to Redis', async (harness) => {
  const couponId = await harness.createCoupon({ totalQuantity: 1, issueEndAt: new Date(Date.now() + 20_000).toISOString() });
  assert.is((await issue(harness, couponId, 'first-skew')).status, 201);
  let scans = 0;
  const client = new Proxy(harness.runtime.redis, {
    get(target, property) {
      if (property === 'hscan') scans++;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const settled = new SettledCoupons(client, shardsOf(harness), harness.runtime.logger, { now: () => Date.now() + 60_000 });
  settled.live();
  try {
    for (let i = 0; i < 5; i++) {
      assert.is((await issue(harness, couponId, `late-${i}`)).body.code, 'SOLD_OUT', 'sold out, still in its window by Redis\'s clock');
      settled.learn(couponId, 'SOLD_OUT');
      await new Promise((r) => setTimeout(r, 100));
      assert.is(settled.answer(couponId, `late-${i}`), undefined);
    }
    assert.is(scans, 1, 'loaded again on each SOLD_OUT');
  } finally {
    settled.stop();
  }
});

memory.run();
