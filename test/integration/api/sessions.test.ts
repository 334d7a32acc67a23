/**
 * Sessions and the auth routes' defences: cookie attributes, revocation,
 * uniform login failures, the per-IP rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOnLoopback } from '../../../src/sandbox/serve.ts';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000' } });
});
afterAll(() => api.close());

const login = (email: string, password = STRONG_PASSWORD, ip = '192.0.2.1') =>
  api.call('POST', '/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });

describe('sessions', () => {
  it('sets no session on sign-up, and the session cookie HttpOnly, Secure, SameSite=Strict, path / on sign-in', async () => {
    const res = await api.call('POST', '/v1/auth/signup', {
      body: { email: 'cookie@example.com', password: STRONG_PASSWORD, name: 'Cookie' },
      headers: { 'x-forwarded-for': '192.0.2.50' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('set-cookie')).toBeNull();
    const cookie = (await login('cookie@example.com', STRONG_PASSWORD, '192.0.2.50')).headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^mailplane_session=[^;]+;/);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*SameSite=Strict/i);
    expect(cookie).toMatch(/;\s*Path=\//);
    expect(cookie).toMatch(/;\s*Expires=/);
  });

  it('logs out a cookie session: the cookie is cleared and the token refused', async () => {
    await api.signup('cookieout@example.com');
    const res = await login('cookieout@example.com');
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect((await api.call('GET', '/v1/me', { headers: { cookie } })).status).toBe(200);
    const out = await api.call('POST', '/v1/auth/logout', { headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/mailplane_session=;.*Max-Age=0/i);
    expect((await api.call('GET', '/v1/me', { headers: { cookie } })).status).toBe(401);
    expect((await api.call('GET', '/v1/me', { token: res.body.token })).status).toBe(401);
  });

  it('revokes only the session that logged out', async () => {
    await api.signup('twodevices@example.com');
    const laptop = (await login('twodevices@example.com')).body.token;
    const phone = (await login('twodevices@example.com')).body.token;
    expect((await api.call('POST', '/v1/auth/logout', { token: laptop })).status).toBe(204);
    expect((await api.call('GET', '/v1/me', { token: laptop })).status).toBe(401);
    expect((await api.call('GET', '/v1/me', { token: phone })).status).toBe(200);
  });

  it('refuses a session past its expiry', async () => {
    const { token, userId } = await api.signup('expired@example.com');
    await api.database.sql`update sessions set expires_at = now() - interval '1 second' where user_id = ${userId}`;
    expect((await api.call('GET', '/v1/me', { token })).status).toBe(401);
  });

  it('refuses a session whose user was deleted', async () => {
    const { token, userId } = await api.signup('deleted@example.com');
    await api.database.sql`delete from users where id = ${userId}`;
    expect((await api.call('GET', '/v1/me', { token })).status).toBe(401);
  });

  it('issues a short-lived token (the configured TTL, 60 minutes by default)', async () => {
    await api.signup('ttl@example.com');
    const res = await login('ttl@example.com');
    const payload = JSON.parse(Buffer.from(res.body.token.split('.')[1], 'base64url').toString());
    expect(payload).toMatchObject({ sid: expect.any(String), iss: 'mailplane', aud: 'mailplane-api' });
    expect(payload.exp - payload.iat).toBe(3600);
    expect(Math.floor(Date.parse(res.body.expiresAt) / 1000)).toBe(payload.exp);
  });
});

describe('login failures', () => {
  it('gives the same answer for a wrong password and an unknown email, with the same hashing work', async () => {
    await api.signup('uniform@example.com');
    const original = api.deps.hasher;
    const calls: string[] = [];
    api.deps.hasher = {
      hash: original.hash,
      verify: async (h, p) => {
        calls.push('verify');
        return original.verify(h, p);
      },
      verifyDummy: async (p) => {
        calls.push('verifyDummy');
        return original.verifyDummy(p);
      },
    };
    try {
      const wrong = await login('uniform@example.com', 'Wrong-Password-123');
      const unknown = await login('nobody-here@example.com', 'Wrong-Password-123');
      expect(calls).toEqual(['verify', 'verifyDummy']);
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      const strip = (b: any) => ({ ...b, requestId: undefined });
      expect(strip(unknown.body)).toEqual(strip(wrong.body));
      expect(unknown.headers.get('set-cookie')).toBeNull();
    } finally {
      api.deps.hasher = original;
    }
  });

  it('rejects passwords that are too short, too long, common, or contain the email', async () => {
    const cases = ['Ab1!', 'x'.repeat(257), 'Password1234', 'weakling-mallory-2024', '111111111111111'];
    for (const password of cases) {
      const res = await api.call('POST', '/v1/auth/signup', {
        body: { email: 'mallory@example.com', password, name: 'M' },
        headers: { 'x-forwarded-for': '192.0.2.77' },
      });
      expect(res.status, password).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const [row] = await api.database.sql`select count(*)::int as n from users where email = 'mallory@example.com'`;
    expect(row!['n']).toBe(0);
  });
});

describe('per-IP rate limit on auth routes', () => {
  let now = 1_699_999_980_000 + 15_000;
  let limited: TestApi;
  beforeAll(async () => {
    limited = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '3' }, limiterNow: () => now });
  });
  afterAll(() => limited.close());

  const attempt = (ip: string, password = 'Not-The-Password-1') =>
    limited.call('POST', '/v1/auth/login', { body: { email: 'victim@example.com', password }, headers: { 'x-forwarded-for': ip } });

  it('answers 429 with Retry-After after the limit, per client address', async () => {
    await limited.call('POST', '/v1/auth/signup', {
      body: { email: 'victim@example.com', password: STRONG_PASSWORD, name: 'Victim' },
      headers: { 'x-forwarded-for': '198.51.100.1' },
    });
    for (let i = 0; i < 3; i++) expect((await attempt('198.51.100.7')).status).toBe(401);
    const blocked = await attempt('198.51.100.7', STRONG_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('45');
    expect(blocked.headers.get('content-type')).toBe('application/problem+json');
    expect(blocked.body.code).toBe('rate_limited');
    expect(blocked.headers.get('set-cookie')).toBeNull();
    // Another address is not affected.
    expect((await attempt('198.51.100.8', STRONG_PASSWORD)).status).toBe(200);
    // The next window lets the first address in again.
    now += 45_000;
    expect((await attempt('198.51.100.7', STRONG_PASSWORD)).status).toBe(200);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set, so rotating it does not bypass the limit', async () => {
    const direct = await createTestApi({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '2' }, limiterNow: () => now });
    const server = await serveOnLoopback(direct.app);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i}` },
          body: JSON.stringify({ email: 'someone@example.com', password: 'Not-The-Password-1' }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([401, 401, 429]);
      const [row] = await direct.database.sql`select ip::text as ip from audit_log where action = 'user.login_failed' limit 1`;
      expect(row!['ip']).toMatch(/^127\.0\.0\.1/);
    } finally {
      await server.close();
      await direct.close();
    }
  });
});
