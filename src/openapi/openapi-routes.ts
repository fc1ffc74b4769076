import Router from '@koa/router';
import { DOCS_PAGE } from './docs-page.ts';
import { openApiDocument } from './openapi-document.ts';

export function openApiRoutes(): Router {
  const router = new Router();
  const document = openApiDocument();
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'html';
    ctx.body = DOCS_PAGE;
  });
  return router;
}
