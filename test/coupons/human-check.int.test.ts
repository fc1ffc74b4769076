import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as assert from 'uvu/assert';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { withReadModelSnapshot } from '../../src/coupons/recovery/read-model-snapshot.ts';
import { Harness, type Answer } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

/**
 * A stub of a Turnstile/hCaptcha siteverify endpoint (an outside service, so a stub, not a real part of ours):
 * tokens starting with `pass-` pass once (a second verification is a "duplicate", as the real ones answer),
 * `hang-` never answer, anything else fails; every form it was sent is kept.
 */
class StubVerifier {
  readonly forms: URLSearchParams[] = [];
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const token = form.get('response') ?? '';
        const first = this.sent(token).length === 0;
        this.forms.push(form);
        if (token.startsWith('hang-')) return;
        res.setHeader('content-type', 'application/json');
        // Answered a little later, as over a network, so two verifications of one token can overlap.
        setTimeout(() => res.end(JSON.stringify({ success: first && token.startsWith('pass-') && form.get('secret') === 'stub-secret' })), 30);
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/siteverify`;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  sent = (token: string) => this.forms.filter((f) => f.get('response') === token);
}

let harness!: Harness;
const verifier = new StubVerifier();
const gate = spec('the bot gate', async () => {
  const url = await verifier.start();
  harness = await Harness.start({ relay: true, projector: true, env: { HUMAN_CHECK_URL: url, HUMAN_CHECK_SECRET: 'stub-secret', HUMAN_CHECK_TIMEOUT_MS: '500', USER_LIMIT: '100000' } });
  return { close: async () => { await harness.close(); verifier.close(); } };
});

const ask = async (couponId: string, user: string, check?: string): Promise<Answer> =>
  harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token(user), headers: check === undefined ? {} : { 'Human-Check': check } });

/** What Redis holds of a coupon and one asker's attempts there. */
async function redisOf(couponId: string, user: string): Promise<unknown> {
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  const { redis } = harness.runtime;
  return [await redis.hgetall(k.coupon), await redis.hgetall(k.holders), await redis.exists(k.attempts('issue', user))];
}

gate('given a coupon behind the bot gate, when an asker sends no check or a failed one, then 403 HUMAN_CHECK_FAILED and nothing changes in Redis or the log; a passed check is issued once and verified once', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5, humanCheck: true });
  const user = `asker-${couponId.slice(-6)}`;
  const before = await redisOf(couponId, user);
  for (const check of [undefined, '', `fail-${couponId}`, 'x'.repeat(5_000)]) {
    const refused = await ask(couponId, user, check);
    assert.equal([refused.status, refused.body.code], [403, 'HUMAN_CHECK_FAILED'], `${String(check).slice(0, 20)}: ${refused.text}`);
  }
  assert.equal(await redisOf(couponId, user), before, 'no attempt counted, nothing issued');
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated']);

  const token = `pass-${couponId}`;
  const issued = await ask(couponId, user, token);
  assert.is(issued.status, 201, issued.text);
  const again = await ask(couponId, user, token);
  assert.equal([again.status, again.body.code], [409, 'ALREADY_ISSUED'], 'the same token meets its first verdict, not a "duplicate"');
  assert.is(verifier.sent(token).length, 1, 'verified once');
  const [form] = verifier.sent(token);
  assert.equal([form!.get('secret'), form!.get('remoteip') !== null], ['stub-secret', true], 'the secret and the client address go to the verifier');
  const view = await harness.request('GET', `/coupons/${couponId}`, { token: await harness.token(user) });
  assert.is(view.body.humanCheck, true, 'a client can show the check before asking');
});

gate('given the verifier does not answer, then 503 that says nothing changed; a coupon not behind the gate takes no notice of the header', async () => {
  const gated = await harness.createCoupon({ totalQuantity: 5, humanCheck: true });
  const hung = await ask(gated, `hung-${gated.slice(-6)}`, `hang-${gated}`);
  assert.equal([hung.status, hung.body.code], [503, 'DEPENDENCY_UNAVAILABLE'], hung.text);
  assert.match(String(hung.body.detail), /nothing was changed/);
  const open = await harness.createCoupon({ totalQuantity: 5 });
  assert.is((await ask(open, `plain-${open.slice(-6)}`)).status, 201);
  assert.is((await ask(open, `failed-${open.slice(-6)}`, `fail-${open}`)).status, 201);
});

gate('given a passed token, then a double submit meets its pass, another account presenting it is refused, and a failed one leaves nothing behind', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 50, humanCheck: true });
  const token = `pass-double-${couponId}`;
  const user = `double-${couponId.slice(-6)}`;
  const answers = await Promise.all(Array.from({ length: 10 }, () => ask(couponId, user, token)));
  const tally = answers.map((a) => a.status).sort();
  assert.equal(tally, [201, ...Array(9).fill(409)], answers.map((a) => a.text).join(' | '));
  assert.is(verifier.sent(token).length, 1, 'verified once, whatever the double submits');
  const borrowed = await ask(couponId, `bot-${couponId.slice(-6)}`, token);
  assert.equal([borrowed.status, borrowed.body.code], [403, 'HUMAN_CHECK_FAILED'], 'a solved check is one person\'s, not a pass for every account');
  const failed = `fail-left-${couponId}`;
  assert.is((await ask(couponId, `failing-${couponId.slice(-6)}`, failed)).status, 403);
  const kept = `humancheck:${createHash('sha256').update(failed).digest('base64url')}`;
  assert.is(await harness.runtime.redis.exists(kept), 0, 'a refusal is not kept');
});

gate('given a coupon not behind the gate, then a Human-Check header is never sent to the verifier, even one that would hang', async () => {
  const open = await harness.createCoupon({ totalQuantity: 5 });
  const token = `hang-elsewhere-${open}`;
  assert.is((await ask(open, `free-${open.slice(-6)}`, token)).status, 201);
  assert.is(verifier.sent(token).length, 0);
});

gate('given a code naming a closed coupon behind the gate, or one whose claims the caller lacks, then a caller holding nothing hears exactly what an unknown code answers', async () => {
  const tag = Math.random().toString(36).slice(2, 8).toUpperCase();
  const shut = await harness.createCoupon({ code: `GATE-SHUT-${tag}`, humanCheck: true });
  await harness.createCoupon({ code: `GATE-GOLD-${tag}`, humanCheck: true, eligibility: { requiredClaims: { tier: ['gold'] } } });
  assert.is((await harness.request('POST', `/admin/coupons/${shut}/close`, { token: await harness.token('admin', 'admin') })).status, 200);
  const stranger = await harness.token(`gate-stranger-${tag}`);
  const answers = await Promise.all([`GATE-NONE-${tag}`, `GATE-SHUT-${tag}`, `GATE-GOLD-${tag}`].map((code) =>
    harness.request('POST', `/coupons/by-code/${code}/issue`, { token: stranger, headers: { 'Idempotency-Key': `k-${code}` } })));
  assert.equal(answers.map((a) => a.status), [404, 404, 404]);
  assert.is(new Set(answers.map((a) => a.text)).size, 1, answers.map((a) => a.text).join(' | '));
  const service = await harness.token('order-system', 'service');
  const forbidden = await Promise.all([`GATE-NONE-${tag}`, `GATE-SHUT-${tag}`].map((code) => harness.request('POST', `/coupons/by-code/${code}/issue`, { token: service })));
  assert.equal(forbidden.map((a) => [a.status, a.body.code]), [[403, 'FORBIDDEN'], [403, 'FORBIDDEN']], 'a service is refused before any code is looked up');
  const badKey = await Promise.all([`GATE-NONE-${tag}`, `GATE-SHUT-${tag}`].map((code) => harness.request('POST', `/coupons/by-code/${code}/issue`, { token: stranger, headers: { 'Idempotency-Key': 'x'.repeat(300) } })));
  assert.equal(badKey.map((a) => a.status), [400, 400]);
  assert.is(badKey[0]!.body.detail, badKey[1]!.body.detail, 'a bad Idempotency-Key is refused before the code is looked up');
});

gate('given a coupon behind the gate in the read models, then a restore begun from them keeps it behind the gate', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5, humanCheck: true });
  await harness.drained(couponId);
  await harness.projected();
  const { db, config } = harness.runtime;
  const rebuilt = await withReadModelSnapshot(db, config.kafka.topic, (snapshot) => snapshot.coupon(couponId));
  assert.is(rebuilt?.state.humanCheck, true);
});

gate('given a waiting room behind the gate, when a person joins without a check or with a failed one, then 403 HUMAN_CHECK_FAILED and no ticket, no event; a passed check joins them', async () => {
  const couponId = await harness.createCoupon({ totalQuantity: 5, humanCheck: true, opening: { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 30 } });
  const user = `waiter-${couponId.slice(-6)}`;
  const join = async (check?: string) => harness.request('POST', `/coupons/${couponId}/queue`, { token: await harness.token(user), headers: check === undefined ? {} : { 'Human-Check': check } });
  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  for (const check of [undefined, `fail-${couponId}`]) {
    const refused = await join(check);
    assert.equal([refused.status, refused.body.code], [403, 'HUMAN_CHECK_FAILED'], refused.text);
  }
  assert.equal([await harness.runtime.redis.exists(k.queue.meta), await harness.runtime.redis.hlen(k.queue.tickets)], [0, 0], 'no ticket taken');
  const joined = await join(`pass-join-${couponId}`);
  assert.is(joined.status, 201, joined.text);
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).map((e) => e.type), ['CouponCreated', 'CouponQueueJoined']);
});

gate.run();
