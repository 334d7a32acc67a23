/**
 * Drives the secret-bearing flows through the API, plus a route that logs its
 * whole request carelessly, and checks that no captured log line holds a
 * password, session token, cookie, API key or invitation token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi({
    env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '1000' },
    extra: () => [
      (app) => {
        // What a careless handler might do: log every header and the body.
        app.post('/test/careless', async (c) => {
          const body = await c.req.json();
          c.get('log').info({ headers: c.req.header(), body }, 'careless request log');
          c.get('log').info({ response: { headers: { 'set-cookie': c.req.header('cookie') } } }, 'careless response log');
          return c.json({ ok: true });
        });
        app.get('/test/fail', (c) => {
          throw Object.assign(new Error('upstream failed'), { config: { headers: { Authorization: c.req.header('authorization') } } });
        });
      },
    ],
  });
});
afterAll(() => api.close());

describe('log redaction through the API', () => {
  it('never writes secrets to the log, whatever the request carried', async () => {
    const signup = await api.call('POST', '/v1/auth/signup', { body: { email: 'logged@example.com', password: STRONG_PASSWORD, name: 'Logged' } });
    expect(signup.status).toBe(202);
    const login = await api.call('POST', '/v1/auth/login', { body: { email: 'logged@example.com', password: STRONG_PASSWORD } });
    const token: string = login.body.token;
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    await api.call('POST', '/v1/auth/login', { body: { email: 'logged@example.com', password: 'Wrong-But-Secret-Pass-1' } });

    const ws = (await api.call('POST', '/v1/workspaces', { token, body: { name: 'Logs' } })).body.id;
    const key = (await api.call('POST', `/v1/workspaces/${ws}/api-keys`, { token, body: { name: 'k', scopes: ['read'] } })).body.key as string;
    const invitation = (await api.call('POST', `/v1/workspaces/${ws}/invitations`, { token, body: { email: 'x@example.com', role: 'member' } })).body
      .token as string;
    await api.call('GET', `/v1/workspaces/${ws}`, { token: key });
    await api.call('GET', '/v1/me', { headers: { cookie } });
    await api.call('POST', '/v1/invitations/accept', { token, body: { token: invitation } });

    const careless = await api.call('POST', '/test/careless', {
      body: { password: STRONG_PASSWORD, token, apiKey: key, nested: { invitation: { token: invitation } } },
      headers: { authorization: `Bearer ${token}`, cookie, 'x-api-key': key },
    });
    expect(careless.status).toBe(200);
    const failed = await api.call('GET', '/test/fail', { token: key });
    expect(failed.status).toBe(500);

    expect(api.logLines.length).toBeGreaterThan(10);
    const all = api.logLines.join('\n');
    for (const [name, secret] of Object.entries({
      password: STRONG_PASSWORD,
      wrongPassword: 'Wrong-But-Secret-Pass-1',
      token,
      cookie: cookie.split('=')[1]!,
      apiKey: key,
      invitation,
    })) {
      expect(all.includes(secret), `${name} appears in the log`).toBe(false);
    }
    // The careless lines were written, with the secrets replaced.
    const line = api.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'careless request log');
    expect(line.headers).toMatchObject({ authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]' });
    expect(line.body).toMatchObject({ password: '[redacted]', token: '[redacted]', apiKey: '[redacted]' });
  });
});
