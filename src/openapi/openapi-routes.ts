import type { Route } from '../http/route.ts';
import { DOCS_PAGE } from './docs-page.ts';
import { openApiDocument } from './openapi-document.ts';

/** `/openapi.json` and `/docs`: the document of the routes given and of these two, made once. */
export function openApiRoutes(routes: readonly Route[]): Route[] {
  const own: Route[] = [{
    method: 'get', path: '/openapi.json', auth: 'public', summary: 'This document', tag: 'operations', answer: { status: 200, schema: { type: 'object' } },
    handler: (ctx) => {
      ctx.body = document;
    },
  }, {
    method: 'get', path: '/docs', auth: 'public', summary: 'This document as a page', tag: 'operations',
    answer: { status: 200, schema: { type: 'string' }, type: 'text/html', description: 'HTML' },
    handler: (ctx) => {
      ctx.type = 'html';
      ctx.body = DOCS_PAGE;
    },
  }];
  const document = openApiDocument([...routes, ...own]);
  return own;
}
