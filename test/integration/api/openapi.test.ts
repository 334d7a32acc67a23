import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../../support/api.ts';

let api: TestApi;
let doc: any;
beforeAll(async () => {
  api = await createTestApi();
  doc = (await api.call('GET', '/openapi.json')).body;
});
afterAll(() => api.close());

const FOUNDATION_ROUTES = [
  'get /healthz',
  'get /readyz',
  'post /v1/auth/signup',
  'post /v1/auth/login',
  'post /v1/auth/logout',
  'get /v1/me',
  'post /v1/workspaces',
  'get /v1/workspaces',
  'get /v1/workspaces/{ws}',
  'patch /v1/workspaces/{ws}',
  'get /v1/workspaces/{ws}/members',
  'patch /v1/workspaces/{ws}/members/{userId}',
  'delete /v1/workspaces/{ws}/members/{userId}',
  'post /v1/workspaces/{ws}/invitations',
  'get /v1/workspaces/{ws}/invitations',
  'delete /v1/workspaces/{ws}/invitations/{invitationId}',
  'post /v1/invitations/accept',
  'post /v1/workspaces/{ws}/api-keys',
  'get /v1/workspaces/{ws}/api-keys',
  'delete /v1/workspaces/{ws}/api-keys/{keyId}',
  'post /v1/workspaces/{ws}/api-keys/{keyId}/rotate',
];

const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([method, op]) => ({ path, method, op })),
  );

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every foundation route', () => {
    const listed = new Set(operations().map((o) => `${o.method} ${o.path}`));
    expect(FOUNDATION_ROUTES.filter((r) => !listed.has(r))).toEqual([]);
  });

  it('declares every path parameter and documents errors as problem+json', () => {
    for (const { path, method, op } of operations()) {
      const declared = (op.parameters ?? [])
        .filter((p: any) => p.in === 'path')
        .map((p: any) => p.name)
        .sort();
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(declared, `${method} ${path}`).toEqual(inPath);
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        if (Number(status) >= 400 && path.startsWith('/v1/'))
          expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).toEqual(['application/problem+json']);
      }
    }
  });

  it('marks authenticated routes with the bearer scheme it defines', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const me = doc.paths['/v1/me'].get;
    expect(me.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/v1/auth/login'].post.security).toBeUndefined();
  });

  it('resolves every $ref inside the document', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const target = ref.split('/').reduce((node: any, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
      expect(target, ref).toBeDefined();
    }
  });
});

describe('/docs', () => {
  it('serves an HTML reference that loads its assets from this server, not a CDN', async () => {
    const res = await api.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    // The API's default-src 'none' would leave the page blank; the docs get a policy that lets their own assets and the spec load.
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']) {
      const a = await api.app.request(asset);
      expect(a.status, asset).toBe(200);
      expect((await a.text()).length).toBeGreaterThan(10);
    }
    expect(await (await api.app.request('/docs/init.js')).text()).toContain('/openapi.json');
  });

  it('does not serve other files from the package folder', async () => {
    for (const path of ['/docs/package.json', '/docs/..%2Fpackage.json', '/docs/index.html']) {
      const res = await api.app.request(path);
      expect(res.status, path).toBe(404);
    }
  });
});

describe('the document describes what the API enforces', () => {
  const schemaOf = (ref: any): any => (ref?.$ref ? doc.components.schemas[ref.$ref.split('/').at(-1)] : ref);

  it('states the sign-up password length the API requires', async () => {
    const signup = schemaOf(doc.paths['/v1/auth/signup'].post.requestBody.content['application/json'].schema);
    expect(signup.properties.password).toMatchObject({ minLength: 12, maxLength: 256 });
    const short = await api.call('POST', '/v1/auth/signup', { body: { email: 'short-pw@example.com', password: 'elevenchars', name: 'Short' } });
    expect(short.status).toBe(400);
    expect(short.body.errors.map((e: any) => e.path)).toEqual(['json.password']);
  });

  it('answers sign-up with what it documents (202, no session) and sign-in with the session or a second-factor challenge, as documented', async () => {
    const up = await api.call('POST', '/v1/auth/signup', {
      body: { email: 'same-shape@example.com', password: 'Plum-Harbour-Lantern-42', name: 'Same Shape' },
    });
    expect([up.status, up.body]).toEqual([202, { status: 'verification_sent' }]);
    const accepted = schemaOf(doc.paths['/v1/auth/signup'].post.responses['202'].content['application/json'].schema);
    expect(Object.keys(accepted.properties)).toEqual(['status']);
    const login = await api.call('POST', '/v1/auth/login', { body: { email: 'same-shape@example.com', password: 'Plum-Harbour-Lantern-42' } });
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(['expiresAt', 'token', 'user']);
    // Without a second factor: the session. With one: the challenge its second step answers (test/integration/api/two-factor.test.ts).
    const documented = schemaOf(doc.paths['/v1/auth/login'].post.responses['200'].content['application/json'].schema);
    const shapes = (documented.anyOf ?? documented.oneOf).map((s: any) => Object.keys(schemaOf(s).properties).sort());
    expect(shapes).toEqual([
      ['expiresAt', 'token', 'user'],
      ['challenge', 'expiresAt', 'methods', 'secondFactorRequired'],
    ]);
  });

  it('names every invalid field the same way, json.<field>, whichever layer refused it', async () => {
    const weak = await api.call('POST', '/v1/auth/signup', { body: { email: 'weak-pw@example.com', password: 'password1234', name: 'Weak' } });
    expect(weak.status).toBe(400);
    expect(weak.body.errors.every((e: any) => e.path === 'json.password')).toBe(true);
    const typed = await api.call('POST', '/v1/auth/signup', { body: { email: 'x@example.com', password: 42, name: 'X' } });
    expect(typed.body.errors.map((e: any) => e.path)).toEqual(['json.password']);
  });
});
