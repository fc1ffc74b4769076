import * as assert from 'uvu/assert';
import { Harness } from '../support/api-harness.ts';
import { servedRoutes } from '../support/served-routes.ts';
import { spec } from '../support/spec.ts';

let harness!: Harness;
const openapi = spec('the OpenAPI document', async () => (harness = await Harness.start()));

openapi('lists exactly the operations the router serves', async () => {
  const served = (await servedRoutes()).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort();
  const { body } = await harness.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
  const documented = Object.entries(body.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
  assert.equal(documented, served);
});

openapi('is OpenAPI 3.1 with bodies and answers generated from the validating schemas', async () => {
  const { body } = await harness.request<Record<string, any>>('GET', '/openapi.json');
  assert.is(body.openapi, '3.1.0');
  const create = body.paths['/admin/coupons'].post;
  const schema = create.requestBody.content['application/json'].schema;
  assert.equal(schema.properties.totalQuantity, { type: 'integer', minimum: 1, maximum: 10_000_000 });
  assert.is(schema.additionalProperties, false, 'unknown fields are refused, as the handler does');
  assert.ok(create.responses['403'], 'admin routes document FORBIDDEN');
  const issue = body.paths['/coupons/{couponId}/issue'].post;
  assert.match(issue.responses['409'].description, /SOLD_OUT/);
});

openapi('/docs serves a page that renders the document', async () => {
  const page = await harness.request('GET', '/docs');
  assert.is(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.text, /fetch\('\/openapi\.json'\)/);
});

openapi.run();
