/**
 * GET /openapi.json (OpenAPI 3.1 generated from the route schemas) and /docs,
 * an interactive reference served from the swagger-ui-dist package itself —
 * no CDN, so it works offline and under a strict CSP.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { App } from '../env.ts';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mailplane API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="docs"></div><script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, persistAuthorization: false });`;

/**
 * The reference page needs its own scripts, styles and the spec; the API's CSP
 * (default-src 'none') would block them. app.ts applies this policy to /docs
 * through its secure-headers middleware, which otherwise overwrites any CSP a
 * route sets.
 */
export const DOCS_CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
};

export const isDocsPath = (path: string) => path === '/docs' || path.startsWith('/docs/');

export function registerDocsRoutes(app: App, opts: { version: string }): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token from /v1/auth/login or an API key (mpk_…)',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'mailplane API',
      version: opts.version,
      description: 'Control plane for dedicated, hardened mail servers. Errors are RFC 9457 application/problem+json.',
    },
  });

  const cache = new Map<string, string>();
  // Resolve the package folder without loading its 1.5 MB bundle into this process.
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/init.js', (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/docs/:asset', async (c) => {
    const asset = c.req.param('asset');
    const type = ASSETS[asset];
    if (!type) return c.notFound();
    let body = cache.get(asset);
    if (body === undefined) {
      body = await readFile(join(dir, asset), 'utf8');
      cache.set(asset, body);
    }
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
  });
}
