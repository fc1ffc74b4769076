import * as assert from 'uvu/assert';
import { evolve, lineOf, type AdmissionCoupon } from '../../src/coupons/rules/coupon-rules.ts';
import type { TicketView } from '../../src/coupons/queue/ticket-view.ts';
import { auditPassed } from '../../src/audit/run-audit.ts';
import { couponKeys } from '../../src/coupons/admission/keys.ts';
import { Harness, type Answer } from '../support/api-harness.ts';
import { EventStream } from '../support/event-stream.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const room = spec('the waiting room', async () => (harness = await Harness.start({ relay: true, projector: true, env: { USER_LIMIT: '100000' } })));

const tokens = new Map<string, string>();
const tokenOf = async (user: string) => tokens.get(user) ?? tokens.set(user, await harness.token(user)).get(user)!;
const join = async (couponId: string, user: string): Promise<Answer<TicketView & { code?: string }>> =>
  harness.request('POST', `/coupons/${couponId}/queue`, { token: await tokenOf(user) });
const me = async (couponId: string, user: string): Promise<Answer<TicketView & { code?: string }>> =>
  harness.request('GET', `/coupons/${couponId}/queue/me`, { token: await tokenOf(user) });
const claim = async (couponId: string, user: string, pass?: string): Promise<Answer> =>
  harness.request('POST', `/coupons/${couponId}/issue`, { token: await tokenOf(user), headers: pass ? { 'Queue-Pass': pass } : {} });

/** Runs `task` over `items`, `width` at a time, answers in the items' order. */
async function inParallel<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await task(items[i]!);
  }));
  return out;
}

/** Spearman's rank correlation of two rankings of the same n items (each a permutation of 1..n). */
function spearman(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const d2 = a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen: T | undefined;
  for (;;) {
    seen = await probe();
    if (seen !== undefined) return seen;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

room('given 5,000 people join a queue-mode coupon before its start, then the pre-queue is shuffled (|rank correlation| < 0.05), later joins queue in arrival order, passes never pass admitPerSecond in any second, a pass is its own person\'s and lapses, every stream hears SOLD_OUT within 1 s, a replay of the log gives every place again, and stock added after the sell-out reaches a stream that heard it', async () => {
  const tag = Date.now().toString(36);
  const people = Array.from({ length: 5_000 }, (_, i) => `early-${i}-${tag}`);
  await inParallel(people, 50, tokenOf);
  const start = Date.now() + 25_000;
  const couponId = await harness.createCoupon({ totalQuantity: 300, issueStartAt: new Date(start).toISOString(), opening: { mode: 'queue', admitPerSecond: 100, passTtlSeconds: 10 } });

  const joined = await inParallel(people, 500, (user) => join(couponId, user));
  assert.ok(Date.now() < start, 'the joins took longer than the pre-queue lasted');
  const bad = joined.filter((a) => a.status !== 201 || a.body.phase !== 'pre' || a.body.status !== 'PRE_QUEUE' || a.body.place !== null);
  assert.is(bad.length, 0, bad[0]?.text);
  const tickets = new Map(people.map((user, i) => [user, joined[i]!.body.ticket]));
  assert.is(new Set(tickets.values()).size, 5_000, 'one ticket each');
  const again = await join(couponId, people[7]!);
  assert.equal([again.status, again.body.ticket], [200, tickets.get(people[7]!)], 'a second join answers the first ticket');

  const watched = people.filter((_, i) => i % 25 === 0);
  const streams = new Map(await Promise.all(watched.map(async (user) => [user, new EventStream<TicketView>(`${harness.api.url}/coupons/${couponId}/queue/me/events`, await tokenOf(user))] as const)));

  await until('the shuffle', 40_000, async () => ((await me(couponId, people[0]!)).body.place ?? undefined));
  const places = new Map((await inParallel(people, 100, async (user) => [user, (await me(couponId, user)).body.place!] as const)));
  assert.equal([...places.values()].sort((a, b) => a - b), people.map((_, i) => i + 1), 'the pre-queue holds places 1..5,000');
  const rho = spearman(people.map((user) => tickets.get(user)!), people.map((user) => places.get(user)!));
  assert.ok(Math.abs(rho) < 0.05, `rank correlation of arrival and place: ${rho}`);

  const late = Array.from({ length: 50 }, (_, i) => `late-${i}-${tag}`);
  for (const user of late) {
    const answer = await join(couponId, user);
    assert.equal([answer.status, answer.body.phase], [201, 'line'], answer.text);
    places.set(user, answer.body.place!);
  }
  assert.equal(late.map((user) => places.get(user)), late.map((_, i) => 5_001 + i), 'after the start, arrival order');

  const inLine = [...places.entries()].sort((a, b) => a[1] - b[1]).map(([user]) => user);
  const [holdsBack, borrower] = inLine as [string, string];
  let heldPass = '';
  let soldOutAt = 0;
  let issued = 0;
  await inParallel(inLine.slice(0, 400), 50, async (user) => {
    const ticket = await until(`${user}'s pass or the end`, 40_000, async () => {
      const t = (await me(couponId, user)).body;
      return t.status === 'PASS_GRANTED' || t.status === 'SOLD_OUT' ? t : undefined;
    });
    if (ticket.status !== 'PASS_GRANTED') return;
    if (user === holdsBack) return void (heldPass = ticket.pass!.token);
    if (user === borrower) {
      const borrowed = await until('the first pass', 10_000, async () => heldPass || undefined);
      const refused = await claim(couponId, user, borrowed);
      assert.equal([refused.status, refused.body.code], [403, 'PASS_REQUIRED'], 'another person\'s pass is no pass');
    }
    const answer = await claim(couponId, user, ticket.pass!.token);
    if (answer.status === 201 && ++issued === 300) soldOutAt = Date.now();
    assert.ok(answer.status === 201 || answer.body.code === 'SOLD_OUT', answer.text);
  });
  assert.is(issued, 300);
  for (const [user, pass] of [[holdsBack, heldPass], [inLine[4_000]!, undefined]] as const) {
    const late = await claim(couponId, user, pass);
    assert.equal([late.status, late.body.code], [409, 'SOLD_OUT'], `once sold out, anyone is told so: ${late.text}`);
  }

  const told = (s: EventStream<TicketView>) => ['SOLD_OUT', 'ISSUED', 'PASS_EXPIRED'].includes(s.messages.at(-1)?.data.status ?? '');
  await until('every stream told', 5_000, async () => [...streams.values()].every(told) || undefined).catch(() => undefined);
  for (const [user, stream] of streams) {
    const last = stream.messages.at(-1);
    assert.ok(last && told(stream), `${user}'s stream last said ${JSON.stringify(last?.data)}`);
    if (last.data.status === 'SOLD_OUT') assert.ok(last.at - soldOutAt < 1_000, `${user} heard SOLD_OUT ${last.at - soldOutAt} ms after it`);
  }

  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  const grants = events.flatMap((e) => (e.type === 'CouponPassesGranted' ? [{ at: Date.parse(e.occurredAt), count: e.data.persons.length }] : []));
  for (const g of grants) {
    const second = grants.filter((o) => o.at >= g.at && o.at < g.at + 1_000).reduce((sum, o) => sum + o.count, 0);
    assert.ok(second <= 100, `${second} passes granted in the second from ${new Date(g.at).toISOString()}`);
  }
  const expired = events.flatMap((e) => (e.type === 'CouponPassesExpired' ? e.data.persons : []));
  assert.equal(expired, [holdsBack], 'the pass held back lapsed once, with an event, and its coupon went to the next in line');
  const replayed = events.reduce<AdmissionCoupon | undefined>(evolve, undefined)!;
  const line = lineOf(replayed.queue!);
  assert.equal(line.map((user) => places.get(user)), line.map((_, i) => i + 1), 'the replay places everyone where they were told they stood');
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report));

  // Stock added after the sell-out reopens the room: the first watcher in line who heard SOLD_OUT hears their pass.
  const head = Math.max(...events.flatMap((e) => (e.type === 'CouponPassesGranted' ? [e.data.from + e.data.persons.length] : [])));
  const [next, stream] = [...streams].filter(([user, s]) => s.messages.at(-1)?.data.status === 'SOLD_OUT' && places.get(user)! > head).sort(([a], [b]) => places.get(a)! - places.get(b)!)[0]!;
  const added = await harness.request('POST', `/admin/coupons/${couponId}/stock`, { token: await harness.token('admin', 'admin'), body: { add: places.get(next)! - head } });
  assert.is(added.status, 200, added.text);
  const granted = await until(`${next}'s stream to hear their pass`, 10_000, async () => stream.messages.find((m) => m.data.status === 'PASS_GRANTED'));
  assert.is((await claim(couponId, next, granted.data.pass!.token)).status, 201);
  for (const s of streams.values()) s.close();
});

room('given a queue-mode coupon, when a person claims without a pass, with a forged one, or with their pass after it lapsed, then 403 and nothing changes; their live pass admits once, and then they hold it', async () => {
  const tag = Date.now().toString(36);
  const couponId = await harness.createCoupon({ totalQuantity: 5, opening: { mode: 'queue', admitPerSecond: 1, passTtlSeconds: 10 } });
  const [first, second] = [`first-${tag}`, `second-${tag}`];
  for (const user of [first, second]) assert.is((await join(couponId, user)).status, 201);
  const passOf = (user: string) => until(`${user}'s pass`, 10_000, async () => (await me(couponId, user)).body.pass?.token);
  const pass = await passOf(first);
  const forged = `${pass.split('.')[0]}.${'A'.repeat(43)}`;
  const altered = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(pass.split('.')[0]!, 'base64url').toString()), e: Date.now() + 3_600_000 })).toString('base64url')}.${pass.split('.')[1]}`;
  // A MAC as long as the real one in characters but not in bytes (a latin-1 header byte), and a real pass with a tail.
  const widened = `${pass.split('.')[0]}.${'A'.repeat(42)}\u00e9`;
  for (const shown of [undefined, forged, altered, 'nonsense', widened, `${pass}.tail`]) {
    const refused = await claim(couponId, first, shown);
    assert.equal([refused.status, refused.body.code], [403, 'PASS_REQUIRED'], refused.text);
  }
  const issued = await claim(couponId, first, pass);
  assert.is(issued.status, 201, issued.text);
  const twice = await claim(couponId, first, pass);
  assert.equal([twice.status, twice.body.code], [409, 'ALREADY_ISSUED'], 'a used pass admits nobody again; its holder learns their coupon');
  assert.is((await me(couponId, first)).body.status, 'ISSUED');

  const lapsing = await passOf(second);
  await until(`${second}'s pass to lapse, in the log`, 20_000, async () => {
    await harness.drained(couponId);
    return (await harness.eventsOf(couponId)).some((e) => e.type === 'CouponPassesExpired') || undefined;
  });
  assert.is((await me(couponId, second)).body.status, 'PASS_EXPIRED');
  const before = (await harness.eventsOf(couponId)).length;
  const lapsed = await claim(couponId, second, lapsing);
  assert.equal([lapsed.status, lapsed.body.code], [403, 'PASS_EXPIRED'], lapsed.text);
  await harness.drained(couponId);
  const events = await harness.eventsOf(couponId);
  assert.is(events.length, before, 'a refused claim writes nothing');
  assert.equal(events.filter((e) => e.type === 'CouponIssued').length, 1);
});

room('given a room shuffled and part-granted, when Redis loses the coupon and it is restored from the log, then every ticket, place and live pass stand as they were and the meter carries on from the next place', async () => {
  const tag = Date.now().toString(36);
  const people = Array.from({ length: 12 }, (_, i) => `kept-${i}-${tag}`);
  const couponId = await harness.createCoupon({ totalQuantity: 4, issueStartAt: new Date(Date.now() + 2_000).toISOString(), opening: { mode: 'queue', admitPerSecond: 1, passTtlSeconds: 600 } });
  for (const user of people) assert.is((await join(couponId, user)).status, 201);
  const granted = async () => (await Promise.all(people.map((user) => me(couponId, user)))).map((a) => a.body);
  const before = await until('two passes', 20_000, async () => {
    const tickets = await granted();
    return tickets.filter((t) => t.status === 'PASS_GRANTED').length >= 2 ? tickets : undefined;
  });
  const [first, second] = before.filter((t) => t.status === 'PASS_GRANTED').map((t) => ({ user: people[before.indexOf(t)]!, pass: t.pass!.token }));
  assert.is((await claim(couponId, first!.user, first!.pass)).status, 201);
  await harness.drained(couponId);
  // A restore learns that a coupon exists from the read model: one lost before its creation was projected is a 404 until then.
  await harness.projected();

  const k = couponKeys(couponId, harness.runtime.config.admission.shards);
  await harness.runtime.redis.del(k.coupon, k.holders, k.used, k.persons, ...k.allowLists, ...Object.values(k.queue));
  // A read that finds the coupon gone restores it; one that comes while the log cannot yet be read is a 503 to retry, as a client would.
  const after = await until('the room restored', 20_000, async () => {
    const answers = await Promise.all(people.map((user) => me(couponId, user)));
    if (answers.some((a) => a.status === 503)) return undefined;
    return answers.map((a) => a.body);
  });
  const place = (tickets: TicketView[]) => tickets.map((t) => [t.ticket, t.phase, t.place]);
  assert.equal(place(after), place(before), `tickets and places as before: ${JSON.stringify(after.find((t) => t.place == null))}`);
  assert.equal(after.map((t) => t.status), before.map((t, i) => (people[i] === first!.user ? 'ISSUED' : t.status)), 'the holder holds it, every other pass stands');
  assert.equal(after.map((t) => t.pass?.expiresAt), before.map((t, i) => (people[i] === first!.user ? undefined : t.pass?.expiresAt)));
  const claimed = await claim(couponId, second!.user, second!.pass);
  assert.is(claimed.status, 201, `a pass granted before the loss still admits: ${claimed.text}`);
  const head = Math.max(...before.filter((t) => t.status === 'PASS_GRANTED').map((t) => t.place!));
  const nextUp = people[after.findIndex((t) => t.place === head + 1)]!;
  await until(`the next pass, to place ${head + 1}`, 10_000, async () => ((await me(couponId, nextUp)).body.status === 'PASS_GRANTED' || undefined));
  await harness.drained(couponId);
  const report = await harness.audit(couponId);
  assert.ok(auditPassed(report), JSON.stringify(report));
});

room('given a queue-mode coupon one per phone_hash, when two accounts of one person join, then they share one ticket; a token without the claim is 403 IDENTITY_REQUIRED and takes no ticket', async () => {
  const tag = Date.now().toString(36);
  const couponId = await harness.createCoupon({ totalQuantity: 5, onePer: { claim: 'phone_hash' }, opening: { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 30 } });
  const as = async (user: string, claims?: Record<string, string>) => harness.request<TicketView & { code?: string }>('POST', `/coupons/${couponId}/queue`, { token: await harness.token(user, 'user', undefined, claims) });
  const phone = { phone_hash: `ph-${tag}` };
  const first = await as(`one-${tag}`, phone);
  const second = await as(`two-${tag}`, phone);
  assert.equal([first.status, second.status, second.body.ticket], [201, 200, first.body.ticket], 'a second account of the person is the same person in line');
  const nameless = await as(`three-${tag}`);
  assert.equal([nameless.status, nameless.body.code], [403, 'IDENTITY_REQUIRED']);
  await harness.drained(couponId);
  assert.equal((await harness.eventsOf(couponId)).filter((e) => e.type === 'CouponQueueJoined').map((e) => e.type === 'CouponQueueJoined' && e.data.person), [phone.phone_hash]);
});

room('who may wait: a service token is 403, a coupon that opens directly is 409 NOT_A_QUEUE, an unknown one 404; a waiting room on stock buckets or with a rate of 0 is refused at create with 400, and its start is not moved before its pre-queue opens; one account holds at most 4 streams', async () => {
  const queued = await harness.createCoupon({ totalQuantity: 5, opening: { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 30 } });
  for (const path of [`/coupons/${queued}/queue`, `/coupons/${queued}/queue/me`]) {
    const refused = await harness.request(path.endsWith('me') ? 'GET' : 'POST', path, { token: await harness.token('order-system', 'service') });
    assert.equal([refused.status, refused.body.code], [403, 'FORBIDDEN'], refused.text);
  }
  const direct = await harness.createCoupon({ totalQuantity: 5 });
  for (const answer of [await join(direct, 'direct-asker'), await me(direct, 'direct-asker')]) assert.equal([answer.status, answer.body.code], [409, 'NOT_A_QUEUE']);
  for (const answer of [await join('0190a0b0-0000-7000-8000-000000000000', 'lost-asker'), await me('0190a0b0-0000-7000-8000-000000000000', 'lost-asker')]) {
    assert.equal([answer.status, answer.body.code], [404, 'COUPON_NOT_FOUND']);
  }
  const never = await me(queued, 'never-joined');
  assert.equal([never.status, never.body.code], [404, 'NOT_IN_QUEUE']);
  assert.is((await join(queued, 'many-tabs')).status, 201);
  const open = () => new EventStream<TicketView>(`${harness.api.url}/coupons/${queued}/queue/me/events`, tokens.get('many-tabs')!);
  const tabs = Array.from({ length: 4 }, open);
  await until('4 streams answered', 10_000, async () => tabs.every((t) => t.messages.length > 0) || undefined);
  const fifth = open();
  await fifth.ended;
  assert.is(fifth.status, 429, 'a fifth stream of one account on one process is refused');
  tabs[0]!.close();
  await tabs[0]!.ended;
  const again = open();
  await until('a stream once one closed', 10_000, async () => again.messages.length > 0 || undefined);
  assert.is(again.status, 200);
  for (const t of [...tabs, again]) t.close();
  const admin = await harness.token('admin', 'admin');
  const base = { name: 'x', totalQuantity: 5, discount: { type: 'PERCENT', value: 5 }, issueStartAt: '2026-01-01T00:00:00Z', issueEndAt: '2027-01-01T00:00:00Z', validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-06-01T00:00:00Z' };
  for (const opening of [
    { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 30, buckets: 2 },
    { mode: 'queue', admitPerSecond: 0, passTtlSeconds: 30 },
    { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 1 },
    { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 30, preQueueFrom: '2026-06-01T00:00:00Z' },
    { mode: 'lottery' },
  ]) {
    const { buckets, ...rest } = opening as { buckets?: number };
    const refused = await harness.request('POST', '/admin/coupons', { token: admin, body: { ...base, opening: rest, ...(buckets ? { buckets } : {}) } });
    assert.is(refused.status, 400, JSON.stringify(opening));
  }
  const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
  const later = await harness.createCoupon({ totalQuantity: 5, issueStartAt: at(60), issueEndAt: at(600), opening: { mode: 'queue', admitPerSecond: 5, passTtlSeconds: 30, preQueueFrom: at(30) } });
  await harness.drained(later);
  const logged = (await harness.eventsOf(later)).length;
  const early = await harness.request('PATCH', `/admin/coupons/${later}`, { token: admin, body: { issueStartAt: at(10) } });
  assert.equal([early.status, early.body.code], [400, 'VALIDATION_FAILED'], early.text);
  await harness.drained(later);
  assert.is((await harness.eventsOf(later)).length, logged, 'a refused move writes nothing');
  const moved = await harness.request('PATCH', `/admin/coupons/${later}`, { token: admin, body: { issueStartAt: at(45) } });
  assert.is(moved.status, 200, moved.text);
});

room.run();
