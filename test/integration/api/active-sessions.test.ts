/**
 * Where an account is signed in: the list, signing one session out, and signing out everywhere
 * else; each token refused at once afterwards, and another account's session never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '10000' } });
});
afterAll(() => api.close());

const signIn = async (email: string, ip: string, agent: string) => {
  const res = await api.call('POST', '/v1/auth/login', { body: { email, password: STRONG_PASSWORD }, headers: { 'x-forwarded-for': ip, 'user-agent': agent } });
  expect(res.status).toBe(200);
  return res.body.token as string;
};

describe('active sessions', () => {
  it("lists the account's sessions, newest first, marks the current one, and signs one out", async () => {
    await api.signup('devices@example.com');
    const laptop = await signIn('devices@example.com', '192.0.2.10', 'Laptop Firefox');
    const phone = await signIn('devices@example.com', '192.0.2.11', 'Phone Safari');
    const list = await api.call('GET', '/v1/me/sessions', { token: laptop });
    expect(list.status).toBe(200);
    const mine = list.body.sessions.filter((s: { userAgent: string | null }) => s.userAgent !== null);
    expect(mine.map((s: { userAgent: string; ip: string; current: boolean }) => [s.userAgent, s.ip, s.current])).toEqual([
      ['Phone Safari', '192.0.2.11', false],
      ['Laptop Firefox', '192.0.2.10', true],
    ]);

    const phoneId = mine[0].id;
    expect((await api.call('DELETE', `/v1/me/sessions/${phoneId}`, { token: laptop })).status).toBe(204);
    expect((await api.call('GET', '/v1/me', { token: phone })).status).toBe(401);
    expect((await api.call('GET', '/v1/me', { token: laptop })).status).toBe(200);
    // Signed out already: nothing to sign out.
    expect((await api.call('DELETE', `/v1/me/sessions/${phoneId}`, { token: laptop })).status).toBe(404);
  });

  it("never signs out another account's session, and a malformed id names nothing: 404 both", async () => {
    await api.signup('victim@example.com');
    const victim = await signIn('victim@example.com', '192.0.2.20', 'Victim');
    const victimId = (await api.call('GET', '/v1/me/sessions', { token: victim })).body.sessions.find((s: { current: boolean }) => s.current).id;
    const { token: attacker } = await api.signup('attacker@example.com');
    const res = await api.call('DELETE', `/v1/me/sessions/${victimId}`, { token: attacker });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await api.call('GET', '/v1/me', { token: victim })).status).toBe(200);
    expect((await api.call('DELETE', '/v1/me/sessions/not-a-uuid', { token: attacker })).status).toBe(404);
  });

  it('signs out everywhere else and keeps the current session', async () => {
    const { token: first } = await api.signup('everywhere@example.com');
    const second = await signIn('everywhere@example.com', '192.0.2.30', 'Second');
    const third = await signIn('everywhere@example.com', '192.0.2.31', 'Third');
    const res = await api.call('POST', '/v1/me/sessions/sign-out-others', { token: third });
    expect([res.status, res.body]).toEqual([200, { signedOut: 2 }]);
    expect((await api.call('GET', '/v1/me', { token: first })).status).toBe(401);
    expect((await api.call('GET', '/v1/me', { token: second })).status).toBe(401);
    expect((await api.call('GET', '/v1/me', { token: third })).status).toBe(200);
    expect((await api.call('GET', '/v1/me/sessions', { token: third })).body.sessions).toHaveLength(1);
  });
});
