/**
 * Input that PostgreSQL or a JSON parser would mangle: NUL bytes, invalid UTF-8,
 * lone surrogates. Each is refused with a 400 problem, stores nothing, and no
 * log line carries a failed query's parameters (hashes, tokens, passwords).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';
import { createApiKey, createWorkspace, person, type Person } from '../../support/workspace.ts';

let api: TestApi;
let alice: Person;
let workspaceId: string;
beforeAll(async () => {
  api = await createTestApi({
    env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000' },
    extra: () => [
      (app) => {
        // A query that fails inside PostgreSQL with secret-looking parameters, as a bug would.
        app.get('/test/failing-query', async () => {
          await api.database.sql`select ${'$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0$c2VjcmV0aGFzaA'}::int as n`;
          return new Response('unreachable');
        });
      },
    ],
  });
  alice = await person(api, 'alice');
  workspaceId = await createWorkspace(api, alice.token);
});
afterAll(() => api.close());

const count = async (table: string) => Number((await api.database.sql.unsafe(`select count(*)::int as n from ${table}`))[0]!['n']);

function expectBadRequest(res: { status: number; body: any; headers: Headers }) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body.code).toBe('validation_failed');
}

function expectNoSecretsLogged() {
  const all = api.logLines.join('\n');
  expect(all).not.toMatch(/\$argon2/);
  expect(all).not.toMatch(/"parameters"/);
  expect(all).not.toContain(STRONG_PASSWORD);
}

describe('NUL bytes', () => {
  it.each([
    ['signup name', 'POST', '/v1/auth/signup', () => ({ email: 'nul@example.com', password: STRONG_PASSWORD, name: 'Nul\u0000Name' }), 'users'],
    ['workspace name', 'POST', '/v1/workspaces', () => ({ name: 'Acme\u0000' }), 'workspaces'],
    ['API key name', 'POST', () => `/v1/workspaces/${workspaceId}/api-keys`, () => ({ name: 'ci\u0000', scopes: ['read'] }), 'api_keys'],
  ] as const)('in a %s are refused with 400, nothing stored, no secret logged', async (_what, method, path, body, table) => {
    const before = await count(table);
    const res = await api.call(method, typeof path === 'function' ? path() : path, { token: alice.token, body: body() });
    expectBadRequest(res);
    expect(res.body.detail).toMatch(/NUL/);
    expect(await count(table)).toBe(before);
    expectNoSecretsLogged();
  });

  it('in a workspace rename leave the name unchanged', async () => {
    const res = await api.call('PATCH', `/v1/workspaces/${workspaceId}`, { token: alice.token, body: { name: 'x\u0000y' } });
    expectBadRequest(res);
    const [row] = await api.database.sql`select name from workspaces where id = ${workspaceId}`;
    expect(row!['name']).toBe('Acme');
  });

  it('in a query parameter are refused', async () => {
    const res = await api.call('GET', `/v1/workspaces/${workspaceId}/api-keys?x=%00`, { token: alice.token });
    expectBadRequest(res);
  });
});

describe('invalid UTF-8 and lone surrogates', () => {
  it('refuses bytes that are not UTF-8 instead of storing U+FFFD', async () => {
    const before = await count('workspaces');
    const body = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from('"}')]);
    const res = await api.app.request('/v1/workspaces', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body,
    });
    expectBadRequest({ status: res.status, body: await res.json(), headers: res.headers });
    expect(await count('workspaces')).toBe(before);
  });

  it('refuses a JSON-escaped lone surrogate', async () => {
    const before = await count('workspaces');
    const res = await api.call('POST', '/v1/workspaces', {
      token: alice.token,
      rawBody: '{"name":"Acme \\ud800"}',
      headers: { 'content-type': 'application/json' },
    });
    expectBadRequest(res);
    expect(await count('workspaces')).toBe(before);
  });

  it('accepts well-formed text outside the BMP', async () => {
    const res = await api.call('POST', '/v1/workspaces', { token: alice.token, body: { name: 'Équipe 📬' } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('Équipe 📬');
  });
});

describe('deeply nested JSON', () => {
  const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

  it.each([
    ['arrays', arrays(8_000)],
    ['objects', objects(8_000)],
    ['arrays inside a valid-looking body', `{"email":"deep@example.com","password":"x","extra":${arrays(20_000)}}`],
  ])('of %s is refused with 400 by the sign-in route (no stack overflow, no 500)', async (_what, rawBody) => {
    const res = await api.call('POST', '/v1/auth/login', { rawBody, headers: { 'content-type': 'application/json' } });
    expectBadRequest(res);
    expect(res.body.detail).toMatch(/deeper than 64 levels/);
    expect(api.logLines.join('\n')).not.toMatch(/RangeError|Maximum call stack/);
  });

  it('is refused on an authenticated route and stores nothing', async () => {
    const before = await count('workspaces');
    const res = await api.call('POST', '/v1/workspaces', {
      token: alice.token,
      rawBody: `{"name":"Deep","x":${objects(65)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expectBadRequest(res);
    expect(res.body.detail).toMatch(/deeper than 64 levels/);
    expect(await count('workspaces')).toBe(before);
  });

  it('up to 64 levels passes the nesting check (the route judges the fields)', async () => {
    const res = await api.call('POST', '/v1/workspaces', {
      token: alice.token,
      rawBody: `{"name":"Deep","x":${objects(62)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).not.toMatch(/deeper than/);
  });
});

describe('database errors in the log', () => {
  it('never carry the query parameters', async () => {
    await createApiKey(api, alice.token, workspaceId, ['read']);
    const res = await api.call('GET', '/test/failing-query');
    expect(res.status).toBe(500);
    const line = api.logLines.map((l) => JSON.parse(l)).find((l) => l.requestId === res.body.requestId && l.level >= 50);
    expect(line, 'the failure is logged').toBeDefined();
    expect(JSON.stringify(line)).toMatch(/invalid input syntax/);
    expectNoSecretsLogged();
  });
});
