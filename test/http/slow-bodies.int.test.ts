import { request } from 'node:http';
import { connect } from 'node:net';
import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { spec } from '../support/spec.ts';

/** A body timeout of 1.5 s, so a slow client is slower than it within seconds. */
const slow = spec('request bodies on a slow uplink', () => Harness.start({ env: { HTTP_BODY_TIMEOUT_MS: '1500', USER_LIMIT: '100000' } }));

/** Sends `pieces` one every `everyMs` (a slow uplink), then ends; answers the status and parsed body. */
function trickle(harness: Harness, method: string, path: string, token: string, contentType: string, pieces: string[], everyMs: number, stallAfter?: number) {
  return new Promise<{ status: number; body: Record<string, unknown>; connection?: string }>((resolve, reject) => {
    const req = request(`${harness.api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, connection: res.headers.connection }));
    });
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i === pieces.length) return req.end();
      req.write(pieces[i++]);
      setTimeout(next, i === stallAfter ? 60_000 : everyMs).unref();
    };
    next();
  });
}

slow('given an allow-list of 2,000 ids sent over about 5 s, never pausing long, then it is taken whole, though the upload lasts longer than the body timeout', async (harness) => {
  const couponId = await harness.createCoupon({ eligibility: { allowList: true } });
  const admin = await harness.token('root', 'admin');
  const ids = Array.from({ length: 2_000 }, (_, i) => JSON.stringify(`slow-${i}`));
  const pieces = Array.from({ length: 20 }, (_, p) => `${ids.slice(p * 100, p * 100 + 100).join('\n')}\n`);
  const started = Date.now();
  const answer = await trickle(harness, 'PUT', `/admin/coupons/${couponId}/allow-list`, admin, 'application/x-ndjson', pieces, 250);
  assert.ok(Date.now() - started > 4_500, `the upload took ${Date.now() - started} ms`);
  assert.equal([answer.status, answer.body.allowList], [200, { version: 1, size: 2_000 }]);
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('slow-1999') })).status, 201);
});

slow('given an upload that stops arriving for longer than the body timeout, then 408, the connection closed, and the list in force unchanged', async (harness) => {
  const couponId = await harness.createCoupon({ eligibility: { allowList: true } });
  const admin = await harness.token('root', 'admin');
  assert.is((await harness.request('PUT', `/admin/coupons/${couponId}/allow-list`, { token: admin, rawBody: 'kept\n', headers: { 'content-type': 'text/csv' } })).status, 200);
  const stalled = await trickle(harness, 'PUT', `/admin/coupons/${couponId}/allow-list`, admin, 'text/csv', ['new-1\n', 'new-2\n', 'new-3\n'], 100, 2);
  assert.equal([stalled.status, stalled.body.code, stalled.connection], [408, 'REQUEST_TIMEOUT', 'close']);
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('kept') })).status, 201, 'the old list is in force');
  assert.is((await harness.request('POST', `/coupons/${couponId}/issue`, { token: await harness.token('new-1') })).body.code, 'NOT_ELIGIBLE');
});

slow('given a JSON body trickled in over longer than the body timeout, then 408: a small body must be all there in time', async (harness) => {
  const admin = await harness.token('root', 'admin');
  const body = JSON.stringify({ name: 'trickled', totalQuantity: 1 });
  const pieces = body.match(/.{1,4}/g)!;
  const answer = await trickle(harness, 'POST', '/admin/coupons', admin, 'application/json', pieces, 300);
  assert.equal([answer.status, answer.body.code], [408, 'REQUEST_TIMEOUT']);
});

slow('given a body nobody reads (a 401, or a route that takes none) trickled one byte at a time, then the server closes the connection once it has answered', async (harness) => {
  const couponId = await harness.createCoupon();
  for (const token of [undefined, await harness.token('trickler')]) {
    const { port } = new URL(harness.api.url);
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.on('error', () => undefined);
    socket.write(`POST /coupons/${couponId}/issue HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`);
    const drip = setInterval(() => socket.writable && socket.write('x'), 500);
    const started = Date.now();
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(0), 5_000))]);
    clearInterval(drip);
    socket.destroy();
    assert.ok(at > 0 && at - started < 4_000, `still open after 5 s (${token ? 'with' : 'without'} a token): ${answer.split('\r\n')[0]}`);
    assert.match(answer, token ? /^HTTP\/1.1 201/ : /^HTTP\/1.1 401/);
  }
});

slow.run();
