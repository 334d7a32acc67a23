import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '1000' } });
});
afterAll(() => api.close());

describe('accounts and sessions', () => {
  it('signs up, reads /v1/me, logs out, and the token stops working', async () => {
    const { token } = await api.signup('ada@example.com', 'Ada');
    const me = await api.call('GET', '/v1/me', { token });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'ada@example.com', name: 'Ada', staffRole: null });
    expect(me.body.user).not.toHaveProperty('passwordHash');

    expect((await api.call('POST', '/v1/auth/logout', { token })).status).toBe(204);
    const after = await api.call('GET', '/v1/me', { token });
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
  });

  it('logs in with the right password and sets an HttpOnly, Secure, SameSite cookie', async () => {
    await api.signup('bob@example.com');
    const res = await api.call('POST', '/v1/auth/login', { body: { email: 'BOB@example.com', password: STRONG_PASSWORD } });
    expect(res.status).toBe(200);
    expect(typeof res.body.token).toBe('string');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/mailplane_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Secure/);
    const viaCookie = await api.call('GET', '/v1/me', { headers: { cookie: cookie.split(';')[0]! } });
    expect(viaCookie.status).toBe(200);
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    await api.signup('carol@example.com');
    const wrong = await api.call('POST', '/v1/auth/login', { body: { email: 'carol@example.com', password: 'not-the-password-at-all' } });
    const unknown = await api.call('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'not-the-password-at-all' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.detail).toBe(unknown.body.detail);
    expect(wrong.body.code).toBe(unknown.body.code);
  });

  it('rejects weak passwords with a clear 400 and creates no account', async () => {
    for (const password of ['short', 'password1234', 'aaaaaaaaaaaaaaaa', 'dave-the-user-dave']) {
      const res = await api.call('POST', '/v1/auth/signup', { body: { email: 'dave@example.com', password, name: 'dave-the-user' } });
      expect(res.status, password).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const login = await api.call('POST', '/v1/auth/login', { body: { email: 'dave@example.com', password: 'password1234' } });
    expect(login.status).toBe(401);
  });

  it('answers a taken address exactly as a new one, with the same work, changes nothing and tells only the owner', async () => {
    const hash = vi.spyOn(api.deps.hasher, 'hash');
    const fresh = await api.call('POST', '/v1/auth/signup', { body: { email: 'erin@example.com', password: STRONG_PASSWORD, name: 'Erin' } });
    const taken = await api.call('POST', '/v1/auth/signup', { body: { email: 'Erin@Example.com', password: 'Velvet-Orchard-Compass-77', name: 'Other' } });
    const hashed = hash.mock.calls.length;
    hash.mockRestore();
    for (const res of [fresh, taken]) {
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ status: 'verification_sent' });
      // No session either way: a session would tell which one created an account.
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(hashed).toBe(2);
    // The account is the first one: its password and name, unconfirmed, and it can sign in before confirming.
    const rows = await api.database.sql`select name, email_verified_at from users where email = 'erin@example.com'`;
    expect(rows.map((r) => [r['name'], r['email_verified_at']])).toEqual([['Erin', null]]);
    expect((await api.call('POST', '/v1/auth/login', { body: { email: 'erin@example.com', password: 'Velvet-Orchard-Compass-77' } })).status).toBe(401);
    const login = await api.call('POST', '/v1/auth/login', { body: { email: 'erin@example.com', password: STRONG_PASSWORD } });
    expect([login.status, login.body.user.emailVerified]).toEqual([200, false]);
    expect(api.notices.filter((n) => n.kind === 'signup_attempted').map((n) => n.email)).toEqual(['erin@example.com']);
  });

  it('rejects a tampered or foreign-signed token', async () => {
    const { token } = await api.signup('frank@example.com');
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${'A'.repeat(43)}`;
    expect((await api.call('GET', '/v1/me', { token: forged })).status).toBe(401);
    expect((await api.call('GET', '/v1/me', { token: 'garbage' })).status).toBe(401);
  });

  it('writes login and failed login to the audit log', async () => {
    const { userId } = await api.signup('gina@example.com');
    await api.call('POST', '/v1/auth/login', { body: { email: 'gina@example.com', password: STRONG_PASSWORD } });
    await api.call('POST', '/v1/auth/login', { body: { email: 'gina@example.com', password: 'wrong-password-here' } });
    const rows = await api.database.sql`select action from audit_log where actor_id = ${userId} order by id`;
    // The harness's sign-up signs in with the password after it (sign-up itself issues no session).
    expect(rows.map((r) => r['action'])).toEqual(['user.signup', 'user.login', 'user.login', 'user.login_failed']);
  });
});
