/**
 * A self-contained page that renders /openapi.json: no CDN, so it works on a closed network.
 * Operations are listed by tag, each with its parameters, body schema and answers.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Coupon platform API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px}
main{max-width:1000px;margin:24px auto;padding:0 16px}h2{margin-top:32px;text-transform:capitalize}
details{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:8px 0}
summary{cursor:pointer;padding:10px 14px;display:flex;gap:12px;align-items:center}
.m{font:600 12px monospace;padding:3px 8px;border-radius:4px;color:#fff;min-width:44px;text-align:center}
.get{background:#2f7bd8}.post{background:#1f9d61}.path{font-family:monospace}.s{color:#5b6472}
.body{padding:0 16px 12px}pre{background:#f1f3f6;padding:10px;border-radius:6px;overflow:auto;font-size:12px}
.lock{color:#b86e00;font-size:12px}
</style></head><body><header><h1 id="title">Coupon platform API</h1><div id="desc"></div></header>
<main id="ops">Loading /openapi.json…</main>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const el = (tag, attrs, ...kids) => { const e = document.createElement(tag); Object.assign(e, attrs); e.append(...kids); return e; };
  document.getElementById('title').textContent = doc.info.title + ' · API v' + doc.info.version;
  document.getElementById('desc').textContent = doc.info.description;
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops))
    (byTag[op.tags[0]] ??= []).push([method, path, op]);
  const root = document.getElementById('ops'); root.textContent = '';
  for (const [tag, ops] of Object.entries(byTag)) {
    root.append(el('h2', { textContent: tag }));
    for (const [method, path, op] of ops) {
      const body = el('div', { className: 'body' });
      if (op.parameters?.length) body.append(el('p', { textContent: 'Parameters: ' + op.parameters.map(p => p.name + ' (' + p.in + ')').join(', ') }));
      const req = op.requestBody?.content?.['application/json']?.schema;
      if (req) body.append(el('p', { textContent: 'Body' }), el('pre', { textContent: JSON.stringify(req, null, 2) }));
      for (const [status, res] of Object.entries(op.responses)) {
        const schema = Object.values(res.content ?? {})[0]?.schema;
        body.append(el('p', { textContent: status + ' ' + res.description }));
        if (schema && !schema.$ref) body.append(el('pre', { textContent: JSON.stringify(schema, null, 2) }));
      }
      root.append(el('details', {}, el('summary', {}, el('span', { className: 'm ' + method, textContent: method.toUpperCase() }),
        el('span', { className: 'path', textContent: path }), el('span', { className: 's', textContent: op.summary }),
        op.security ? el('span', { className: 'lock', textContent: 'JWT' }) : ''), body));
    }
  }
});
</script></body></html>`;
