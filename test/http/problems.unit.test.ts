import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import * as assert from 'uvu/assert';
import { AuthRefusal } from '../../src/auth/authenticate.ts';
import { createApp } from '../../src/http/create-app.ts';
import { Problem } from '../../src/http/problem.ts';
import { createLogger } from '../../src/log/logger.ts';
import { DependencyUnavailable } from '../../src/dependencies/dependency-unavailable.ts';
import { spec } from '../support/spec.ts';

/** A Koa app of the platform's middleware over routes that fail in each way a handler can. */
async function failingApp() {
  const router = new Router();
  router.get('/problem', () => { throw new Problem('SOLD_OUT', 'Every coupon has been issued', { extra: 1 }); });
  router.get('/redis-down', () => { throw new DependencyUnavailable('redis', new Error('connect ECONNREFUSED')); });
  router.get('/bug', () => { throw new Error('secret internal detail at /srv/app.ts:12'); });
  router.get('/no-token', () => { throw new AuthRefusal('UNAUTHENTICATED', 'Send Authorization: Bearer <token>'); });
  router.get('/keys-down', () => { throw new AuthRefusal('KEYS_UNAVAILABLE', 'The keys could not be fetched', new Error('getaddrinfo ENOTFOUND idp.internal')); });
  router.get('/fine', (ctx) => { ctx.body = { ok: true }; });
  const server = createApp(createLogger('silent'), [router]).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((r) => server.close(r)) };
}

const get = (url: string, method = 'GET') => new Promise<{ status: number; type: string; headers: Record<string, unknown>; body: Record<string, unknown> }>((resolve, reject) => {
  request(url, { method }, (res) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString()));
    res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), headers: res.headers, body: text ? JSON.parse(text) : {} }));
  }).on('error', reject).end();
});

const problems = spec('failures become problem+json', failingApp);

problems('a Problem keeps its code, status, title and extensions, with the request id as instance', async ({ url }) => {
  const answer = await get(`${url}/problem`);
  assert.is(answer.status, 409);
  assert.match(answer.type, /^application\/problem\+json/);
  assert.equal(answer.body, {
    type: '/problems/sold-out', title: 'The coupon is sold out', status: 409, code: 'SOLD_OUT', detail: 'Every coupon has been issued',
    instance: `urn:request:${answer.headers['x-request-id']}`, extra: 1,
  });
});

problems('a dependency that did not answer is 503 with Retry-After', async ({ url }) => {
  const answer = await get(`${url}/redis-down`);
  assert.is(answer.status, 503);
  assert.is(answer.body.code, 'DEPENDENCY_UNAVAILABLE');
  assert.is(answer.headers['retry-after'], '1');
});

problems('an unexpected error is 500 INTERNAL_ERROR and shows nothing of itself', async ({ url }) => {
  const answer = await get(`${url}/bug`);
  assert.is(answer.status, 500);
  assert.is(answer.body.code, 'INTERNAL_ERROR');
  assert.not.match(JSON.stringify(answer.body), /secret|\.ts:\d+/);
});

problems('an unknown path is 404, a method the path does not serve 405 with Allow, an unknown method 405', async ({ url }) => {
  assert.is((await get(`${url}/nowhere`)).body.code, 'NOT_FOUND');
  const wrong = await get(`${url}/fine`, 'DELETE');
  assert.equal([wrong.status, wrong.body.code, wrong.headers.allow], [405, 'METHOD_NOT_ALLOWED', 'HEAD, GET']);
  assert.is((await get(`${url}/fine`, 'TRACE')).status, 405);
});

problems('a refused identity is 401 with the Bearer challenge, or 503 naming the identity provider when its keys did not come', async ({ url }) => {
  const none = await get(`${url}/no-token`);
  assert.equal([none.status, none.body.code, none.body.detail], [401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <token>']);
  assert.is(none.headers['www-authenticate'], 'Bearer realm="coupon-platform"');
  const down = await get(`${url}/keys-down`);
  assert.equal([down.status, down.body.code, down.body.dependency, down.headers['retry-after']], [503, 'DEPENDENCY_UNAVAILABLE', 'identity-provider', '5']);
  assert.not.match(JSON.stringify(down.body), /idp\.internal/);
});

problems.run();
