/**
 * Two-factor sign-in through the API: TOTP enrolment and sign-in (a code is
 * good once), recovery codes (each good once), the login throttle counting
 * second-factor guesses on the same account key as passwords, turning it off
 * with the password and a code, every change audited and told to the owner,
 * and a workspace that requires it refusing members who have none.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApi, STRONG_PASSWORD, type TestApi } from '../../support/api.ts';
import { enrolTotp, totpCode } from '../../support/two-factor.ts';

let api: TestApi;
let ipCounter = 0;
const freshIp = () => {
  ++ipCounter;
  return `10.7.${ipCounter >> 8}.${ipCounter & 255}`;
};
const login = (email: string, password = STRONG_PASSWORD, ip = freshIp()) =>
  api.call('POST', '/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });
const second = (challenge: string, code: string, ip = freshIp()) =>
  api.call('POST', '/v1/auth/login/second-factor', { body: { challenge, code }, headers: { 'x-forwarded-for': ip } });
/** A code from the next 30-second step: the one enrolment used is spent. */
const nextCode = (secret: string) => totpCode(secret, Date.now() + 30_000);

beforeAll(async () => {
  api = await createTestApi({ env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '100000' } });
});
afterAll(() => api.close());
beforeEach(() => {
  api.notices.length = 0;
});

describe('authenticator app', () => {
  it('turns a right password into a challenge, and the challenge into a session with a current code used once', async () => {
    const { token } = await api.signup('totp@example.com');
    const { secret, recoveryCodes } = await enrolTotp(api.call, token);
    expect(recoveryCodes).toHaveLength(10);
    expect(api.notices.map((n) => n.kind === 'two_factor_changed' && n.change)).toEqual(['totp_enabled']);
    // The secret is sealed in the vault: not in the table, not in clear anywhere in the database.
    const dump = JSON.stringify(await api.database.sql`select * from totp_credentials`) + JSON.stringify(await api.database.sql`select * from vault_secrets`);
    expect(dump).not.toContain(secret);

    const first = await login('totp@example.com');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ secondFactorRequired: true, methods: ['totp', 'recovery_code'] });
    expect(first.body.token).toBeUndefined();
    expect(first.headers.get('set-cookie')).toBeNull();

    expect((await second(first.body.challenge, '000000')).status).toBe(401);
    const code = nextCode(secret);
    const ok = await second(first.body.challenge, code);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await api.call('GET', '/v1/me', { token: ok.body.token })).body.user.email).toBe('totp@example.com');
    // The challenge is spent, and so is the code on a new challenge.
    expect((await second(first.body.challenge, code)).status).toBe(401);
    const again = await login('totp@example.com');
    expect((await second(again.body.challenge, code)).status).toBe(401);
    const audit = await api.database.sql`select action, details from audit_log where action like 'user.%' order by at`;
    expect(audit.map((a) => a['action'])).toEqual(expect.arrayContaining(['user.two_factor.totp_enabled', 'user.login_password_ok', 'user.login']));
    expect(audit.find((a) => a['action'] === 'user.login' && a['details']?.secondFactor === 'totp')).toBeDefined();
  });

  it('accepts each recovery code once, and mails the owner when one is used', async () => {
    const { token } = await api.signup('recover@example.com');
    const { recoveryCodes } = await enrolTotp(api.call, token);
    api.notices.length = 0;
    const a = await login('recover@example.com');
    expect((await second(a.body.challenge, recoveryCodes[0]!.toUpperCase())).status).toBe(200);
    expect(api.notices.map((n) => n.kind === 'two_factor_changed' && n.change)).toEqual(['recovery_code_used']);
    const b = await login('recover@example.com');
    expect((await second(b.body.challenge, recoveryCodes[0]!)).status).toBe(401);
    expect((await second(b.body.challenge, recoveryCodes[1]!)).status).toBe(200);
    expect((await api.call('GET', '/v1/me/two-factor', { token })).body.recoveryCodesLeft).toBe(8);
  });

  it("counts wrong codes on the account's throttle, from any address, so the password buys no extra guesses", async () => {
    const { token } = await api.signup('guess@example.com');
    const { secret } = await enrolTotp(api.call, token);
    const start = await login('guess@example.com');
    // The password attempt is one of the account's five free attempts; four wrong codes use up the rest.
    for (let i = 0; i < 4; i++) expect((await second(start.body.challenge, String(100000 + i))).status).toBe(401);
    const refused = await second(start.body.challenge, nextCode(secret));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).not.toBeNull();
  });
});

describe('changing second factors', () => {
  it('turns off only with the password and a code, and then signs in with the password alone', async () => {
    const { token, userId } = await api.signup('off@example.com');
    const { recoveryCodes } = await enrolTotp(api.call, token);
    api.notices.length = 0;
    const wrongPassword = await api.call('POST', '/v1/me/two-factor/disable', { token, body: { password: 'Not-The-Password-123', code: recoveryCodes[0] } });
    expect(wrongPassword.status).toBe(401);
    const noCode = await api.call('POST', '/v1/me/two-factor/disable', { token, body: { password: STRONG_PASSWORD, code: '12345678901234567890' } });
    expect(noCode.status).toBe(401);
    expect((await api.call('GET', '/v1/me/two-factor', { token })).body.enabled).toBe(true);
    const off = await api.call('POST', '/v1/me/two-factor/disable', { token, body: { password: STRONG_PASSWORD, code: recoveryCodes[1] } });
    expect(off.status, JSON.stringify(off.body)).toBe(204);
    expect(api.notices.map((n) => n.kind === 'two_factor_changed' && n.change)).toEqual(['disabled']);
    expect(await api.database.sql`select 1 from vault_secrets where owner_table = 'totp_credentials' and owner_id = ${userId}`.then((r) => r.length)).toBe(0);
    const plain = await login('off@example.com');
    expect(plain.body.token).toEqual(expect.any(String));
    expect((await api.database.sql`select 1 from audit_log where action = 'user.two_factor.disabled'`).length).toBe(1);
  });

  it('refuses a bad body with a problem and changes nothing', async () => {
    const { token } = await api.signup('bad@example.com');
    const res = await api.call('POST', '/v1/me/two-factor/totp/confirm', { token, body: { code: 123456 } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await api.call('POST', '/v1/auth/login/second-factor', { body: { challenge: 'x'.repeat(43), code: '123456' } })).status).toBe(401);
  });
});

describe('a workspace that requires two-factor sign-in', () => {
  it('can be required only by someone who has it, and then refuses members without it until they enrol', async () => {
    const owner = await api.signup('boss@example.com');
    const ws = (await api.call('POST', '/v1/workspaces', { token: owner.token, body: { name: 'Strict' } })).body.id as string;
    const refused = await api.call('PUT', `/v1/workspaces/${ws}/security`, { token: owner.token, body: { requireTwoFactor: true } });
    expect(refused.status).toBe(409);
    await enrolTotp(api.call, owner.token);
    expect((await api.call('PUT', `/v1/workspaces/${ws}/security`, { token: owner.token, body: { requireTwoFactor: true } })).status).toBe(200);

    const member = await api.signup('member@example.com');
    await api.database.sql`insert into memberships (workspace_id, user_id, role) values (${ws}, ${member.userId}, 'member')`;
    const blocked = await api.call('GET', `/v1/workspaces/${ws}`, { token: member.token });
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('two_factor_required');
    expect((await api.call('GET', '/v1/me/two-factor', { token: member.token })).body).toMatchObject({
      enabled: false,
      required: true,
      requiredBy: ['Strict'],
    });
    await enrolTotp(api.call, member.token);
    expect((await api.call('GET', `/v1/workspaces/${ws}`, { token: member.token })).status).toBe(200);
    // And while the workspace requires it, the member cannot turn it off.
    const off = await api.call('POST', '/v1/me/two-factor/disable', { token: member.token, body: { password: STRONG_PASSWORD, code: '00000000000000000000' } });
    expect(off.status).toBe(409);
  });
});
