/**
 * The HTTP contract shared by every route: problem+json errors with a request
 * id, body limits, secure headers, health checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';

const INTERNAL = 'connection to 10.1.2.3:5432 failed for user mailplane_prod';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({
    env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000', BODY_LIMIT_BYTES: '2048' },
    extra: () => [
      (app) => {
        app.get('/test/boom', () => {
          throw new Error(INTERNAL);
        });
      },
    ],
  });
});
afterAll(() => api.close());

const userCount = async () => Number((await api.database.sql`select count(*)::int as n from users`)[0]!['n']);

function expectProblem(res: { status: number; body: any; headers: Headers }, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), requestId: expect.any(String) });
  expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
  if (code) expect(res.body.code).toBe(code);
}

describe('problem+json errors', () => {
  it('answers an unknown route with a 404 problem', async () => {
    const res = await api.call('GET', '/v1/nope');
    expectProblem(res, 404, 'not_found');
    expect(res.body.instance).toBe('/v1/nope');
  });

  it('answers malformed JSON with 400 and writes nothing', async () => {
    const before = await userCount();
    const res = await api.call('POST', '/v1/auth/signup', {
      rawBody: '{"email": "x@example.com", "password": ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400);
    expect(await userCount()).toBe(before);
  });

  it('lists every wrong field of a body with the wrong types', async () => {
    const res = await api.call('POST', '/v1/auth/signup', { body: { email: 42, password: ['x'], name: '' } });
    expectProblem(res, 400, 'validation_failed');
    const paths = res.body.errors.map((e: any) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['json.email', 'json.password', 'json.name']));
  });

  it('rejects unknown fields rather than ignoring them', async () => {
    const before = await userCount();
    const res = await api.call('POST', '/v1/auth/signup', { body: { email: 'extra@example.com', password: STRONG_PASSWORD, name: 'Extra', staffRole: 'ops' } });
    expectProblem(res, 400, 'validation_failed');
    expect(await userCount()).toBe(before);
  });

  it('rejects a body that is not declared as JSON', async () => {
    const before = await userCount();
    const res = await api.call('POST', '/v1/auth/signup', {
      rawBody: JSON.stringify({ email: 'plain@example.com', password: STRONG_PASSWORD, name: 'Plain' }),
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(res, 415);
    expect(await userCount()).toBe(before);
  });

  it('answers an oversized body with 413 and writes nothing', async () => {
    const before = await userCount();
    const res = await api.call('POST', '/v1/auth/signup', { body: { email: 'big@example.com', password: STRONG_PASSWORD, name: 'x'.repeat(4096) } });
    expectProblem(res, 413, 'payload_too_large');
    expect(await userCount()).toBe(before);
  });

  it('answers an oversized body sent without Content-Length with 413', async () => {
    const chunks = [JSON.stringify({ email: 'stream@example.com', password: STRONG_PASSWORD, name: '' }).slice(0, -2), `${'y'.repeat(4096)}"}`];
    const body = new ReadableStream({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const res = await api.app.request('/v1/auth/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers an unexpected error with a 500 that hides internals, and logs it with the request id', async () => {
    const res = await api.call('GET', '/test/boom');
    expectProblem(res, 500, 'internal_error');
    expect(JSON.stringify(res.body)).not.toContain('10.1.2.3');
    expect(JSON.stringify(res.body)).not.toMatch(/stack|at .*\.ts/);
    const logged = api.logLines.map((l) => JSON.parse(l)).find((l) => l.requestId === res.body.requestId && l.level >= 50);
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain(INTERNAL);
  });

  it('keeps a well-formed caller request id and replaces a hostile one', async () => {
    const kept = await api.call('GET', '/v1/nope', { headers: { 'x-request-id': 'trace-abc-12345678' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc-12345678');
    expect(kept.body.requestId).toBe('trace-abc-12345678');
    const replaced = await api.call('GET', '/v1/nope', { headers: { 'x-request-id': 'evil <script> id with spaces' } });
    expect(replaced.body.requestId).not.toContain('evil');
    expect(replaced.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ignores a forwarded client address that is not an IP address instead of failing on it', async () => {
    const res = await api.call('POST', '/v1/auth/signup', {
      body: { email: 'forwarded@example.com', password: STRONG_PASSWORD, name: 'Forwarded' },
      headers: { 'x-forwarded-for': 'not-an-ip, 10.0.0.1' },
    });
    expect(res.status).toBe(202);
    const [user] = await api.database.sql`select id from users where email = 'forwarded@example.com'`;
    const [row] = await api.database.sql`select ip from audit_log where action = 'user.signup' and actor_id = ${user!['id']}`;
    expect(row!['ip']).toBeNull();
  });

  it('writes one request log line per request with method, path and status', async () => {
    const res = await api.call('GET', '/healthz', { headers: { 'x-request-id': 'log-line-test-0001' } });
    expect(res.status).toBe(200);
    const lines = api.logLines.map((l) => JSON.parse(l)).filter((l) => l.requestId === 'log-line-test-0001');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', method: 'GET', path: '/healthz', status: 200 });
  });
});

describe('secure headers', () => {
  it.each([
    ['a JSON answer', '/healthz'],
    ['a problem answer', '/v1/nope'],
  ])('are set on %s', async (_what, path) => {
    const res = await api.call('GET', path);
    const h = res.headers;
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(h.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(h.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(h.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(h.get('referrer-policy')).toBe('no-referrer');
    expect(h.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(h.get('x-powered-by')).toBeNull();
  });
});

describe('health', () => {
  it('GET /healthz answers 200 while the process is up', async () => {
    const res = await api.call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the database answers', async () => {
    const res = await api.call('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { database: 'ok' } });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('GET /readyz answers 503 naming the failed dependency', async () => {
    const readiness = api.deps.readiness;
    readiness['queue'] = async () => {
      throw new Error('pg-boss not started');
    };
    readiness['other'] = async () => false;
    try {
      const res = await api.call('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'unavailable', checks: { database: 'ok', queue: 'failed', other: 'failed' } });
      expect(JSON.stringify(res.body)).not.toContain('pg-boss not started');
    } finally {
      delete readiness['queue'];
      delete readiness['other'];
    }
  });
});
