/**
 * The dashboard's stylesheet and scripts, read from this package (no CDN, no
 * build step), cached in memory and served with a content hash in the ETag.
 * webauthn.js is @simplewebauthn/browser's own UMD bundle from node_modules,
 * served as it ships, so passkeys need nothing from another origin.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { WebApp } from './web-env.ts';

const JS = 'text/javascript; charset=utf-8';
const TYPES: Record<string, string> = {
  'app.css': 'text/css; charset=utf-8',
  'app.js': JS,
  'two-factor.js': JS,
  'webauthn.js': JS,
  'icon.svg': 'image/svg+xml',
};
const fileOf = (name: string): URL | string =>
  name === 'webauthn.js'
    ? join(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js')
    : new URL(`./assets/${name}`, import.meta.url);

export function registerAssets(web: WebApp): void {
  // Pages name the icon; browsers and tools that ask for the conventional path are sent to it.
  web.get('/favicon.ico', (c) => c.redirect('/assets/icon.svg', 301));
  const cache = new Map<string, { body: string; etag: string }>();
  web.get('/assets/:name', async (c) => {
    const name = c.req.param('name');
    const type = TYPES[name];
    if (!type) return c.notFound();
    let entry = cache.get(name);
    if (!entry) {
      const body = await readFile(fileOf(name), 'utf8');
      entry = { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` };
      cache.set(name, entry);
    }
    if (c.req.header('if-none-match') === entry.etag) return c.body(null, 304);
    return c.body(entry.body, 200, { 'content-type': type, etag: entry.etag, 'cache-control': 'no-cache' });
  });
}
