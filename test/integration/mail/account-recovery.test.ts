import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESET_TTL_SECONDS, sendEmailVerification, type RecoveryDeps } from '../../../src/accounts/recovery.ts';
import { manualClock } from '../../support/clock.ts';
import { mailAccountNotifier } from '../../../src/mail/account-notifier.ts';
import { registerAccountRecoveryRoutes } from '../../../src/api/routes/account-recovery.ts';
import { deriveKey } from '../../../src/auth/keys.ts';
import { SandboxOutbox } from '../../../src/mail/sandbox-outbox.ts';
import { enrolTotp } from '../../support/two-factor.ts';
import { createTestApi, STRONG_PASSWORD, TEST_SECRET, type TestApi } from '../../support/api.ts';

let api: TestApi;
let outbox: SandboxOutbox;
// The product's clock; the last test moves it past a link's lifetime.
const clock = manualClock(Date.now());
beforeAll(async () => {
  api = await createTestApi({
    clock,
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '1000', PUBLIC_URL: 'http://dash.test' },
    extra: (deps) => {
      outbox = new SandboxOutbox({ db: deps.db, from: 'mailplane <no-reply@test>' });
      const recovery: RecoveryDeps = {
        db: deps.db,
        hasher: deps.hasher,
        sessions: deps.sessions,
        mailer: outbox,
        log: deps.log,
        tokenKey: deriveKey(TEST_SECRET, 'account-token'),
        publicUrl: deps.config.http.publicUrl,
        clock: deps.clock,
      };
      // As the product wires them: sign-up mails the confirmation link, account notices go by mail.
      deps.sendEmailVerification = (userId, o) => sendEmailVerification(recovery, userId, o);
      deps.accountNotifier = mailAccountNotifier({ mailer: outbox, log: deps.log, publicUrl: deps.config.http.publicUrl });
      return [(app) => registerAccountRecoveryRoutes(app, recovery)];
    },
  });
});
afterAll(() => api.close());

async function linkMailedTo(email: string, path: string): Promise<string> {
  const mail = (await outbox.list()).find((m) => m.to.includes(email) && m.text.includes(path));
  if (!mail) throw new Error(`no mail with ${path} to ${email}`);
  const link = new URL(/https?:\/\/\S+/.exec(mail.text.slice(mail.text.indexOf(path) - 40))![0]);
  return link.searchParams.get('token')!;
}

describe('forgot password', () => {
  it('mails a single-use link that sets a new password and signs every session out', async () => {
    const { token: session } = await api.signup('reset-me@example.com');
    const asked = await api.call('POST', '/v1/auth/password/forgot', { body: { email: 'Reset-Me@example.com' } });
    expect(asked.status).toBe(202);
    const token = await linkMailedTo('reset-me@example.com', '/reset-password');

    const newPassword = 'Velvet-Orchard-Compass-77';
    expect((await api.call('POST', '/v1/auth/password/reset', { body: { token, password: newPassword } })).status).toBe(204);
    expect((await api.call('GET', '/v1/me', { token: session })).status).toBe(401);
    expect((await api.call('POST', '/v1/auth/login', { body: { email: 'reset-me@example.com', password: newPassword } })).status).toBe(200);
    expect((await api.call('POST', '/v1/auth/login', { body: { email: 'reset-me@example.com', password: STRONG_PASSWORD } })).status).toBe(401);

    const again = await api.call('POST', '/v1/auth/password/reset', { body: { token, password: 'Another-Quiet-River-19' } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('token_invalid');
  });

  it('answers an unknown address exactly like a known one and mails nothing', async () => {
    const before = (await outbox.list()).length;
    const res = await api.call('POST', '/v1/auth/password/forgot', { body: { email: 'nobody-here@example.com' } });
    expect(res.status).toBe(202);
    expect((await outbox.list()).length).toBe(before);
  });

  it('keeps the link usable when the new password is too weak', async () => {
    await api.signup('weak-pick@example.com');
    await api.call('POST', '/v1/auth/password/forgot', { body: { email: 'weak-pick@example.com' } });
    const token = await linkMailedTo('weak-pick@example.com', '/reset-password');
    const weak = await api.call('POST', '/v1/auth/password/reset', { body: { token, password: 'password1234' } });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('validation_failed');
    expect((await api.call('POST', '/v1/auth/password/reset', { body: { token, password: 'Velvet-Orchard-Compass-78' } })).status).toBe(204);
  });

  it('rejects a forged token and only the latest link works', async () => {
    await api.signup('twice@example.com');
    await api.call('POST', '/v1/auth/password/forgot', { body: { email: 'twice@example.com' } });
    const first = await linkMailedTo('twice@example.com', '/reset-password');
    await api.call('POST', '/v1/auth/password/forgot', { body: { email: 'twice@example.com' } });
    expect((await api.call('POST', '/v1/auth/password/reset', { body: { token: first, password: 'Velvet-Orchard-Compass-79' } })).status).toBe(400);
    expect(
      (await api.call('POST', '/v1/auth/password/reset', { body: { token: 'mpr_forgedforgedforged.abc', password: 'Velvet-Orchard-Compass-79' } })).status,
    ).toBe(400);
  });
});

describe('email verification', () => {
  it('mails a link on request that confirms the address once and signs in', async () => {
    const { token: session, userId } = await api.signup('verify-me@example.com');
    const sent = await api.call('POST', '/v1/me/email/verification', { token: session });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ alreadyVerified: false });
    const token = await linkMailedTo('verify-me@example.com', '/verify-email');
    const ok = await api.call('POST', '/v1/auth/email/verify', { body: { token } });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ id: userId, email: 'verify-me@example.com', emailVerified: true });
    expect(ok.headers.get('set-cookie')).toMatch(/mailplane_session=.*HttpOnly.*SameSite=Strict/i);
    expect((await api.call('GET', '/v1/me', { token: ok.body.token })).body.user.emailVerified).toBe(true);
    const [row] = await api.database.sql`select email_verified_at from users where id = ${userId}`;
    expect(row!['email_verified_at']).not.toBeNull();
    expect((await api.call('POST', '/v1/auth/email/verify', { body: { token } })).status).toBe(400);
    expect((await api.call('POST', '/v1/me/email/verification', { token: session })).body).toEqual({ alreadyVerified: true });
  });

  it('confirms the address of an account with a second factor but does not sign it in: the link is not the factor', async () => {
    const { token: session, userId } = await api.signup('verify-2fa@example.com');
    await enrolTotp(api.call, session);
    await api.call('POST', '/v1/me/email/verification', { token: session });
    const token = await linkMailedTo('verify-2fa@example.com', '/verify-email');
    const ok = await api.call('POST', '/v1/auth/email/verify', { body: { token } });
    expect([ok.status, ok.body]).toEqual([200, { verified: true, signInRequired: true }]);
    expect(ok.headers.get('set-cookie')).toBeNull();
    const [row] = await api.database.sql`select email_verified_at from users where id = ${userId}`;
    expect(row!['email_verified_at']).not.toBeNull();
    const [sessions] = await api.database.sql`select count(*)::int as n from sessions where user_id = ${userId}`;
    expect(sessions!['n']).toBe(1);
  });

  it('documents the new routes in /openapi.json', async () => {
    const doc = (await api.call('GET', '/openapi.json')).body;
    for (const path of ['/v1/auth/password/forgot', '/v1/auth/password/reset', '/v1/auth/email/verify', '/v1/me/email/verification']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});

describe('sign-up', () => {
  it('mails a new address its confirmation link, and an address with an account a notice instead of a second account', async () => {
    const body = (password: string, name: string) => ({ email: 'sign-me-up@example.com', password, name });
    const first = await api.call('POST', '/v1/auth/signup', { body: body(STRONG_PASSWORD, 'First') });
    const again = await api.call('POST', '/v1/auth/signup', { body: body('Velvet-Orchard-Compass-77', 'Second') });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body).toEqual(first.body);

    const mails = (await outbox.list()).filter((m) => m.to.includes('sign-me-up@example.com'));
    expect(mails.map((m) => m.subject).sort()).toEqual([
      'Confirm your email address for mailplane',
      'Someone tried to create a mailplane account with your address',
    ]);
    const notice = mails.find((m) => m.subject.startsWith('Someone tried'))!;
    expect(notice.text).toContain('http://dash.test/login');
    expect(notice.text).toContain('http://dash.test/forgot-password');
    expect(notice.text).not.toContain('token=');

    // Confirming is what signs in, on the first sign-up's account.
    const confirmed = await api.call('POST', '/v1/auth/email/verify', { body: { token: await linkMailedTo('sign-me-up@example.com', '/verify-email') } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.user).toMatchObject({ name: 'First', emailVerified: true });
  });

  it('expires a reset link by the injected clock: one second past its lifetime by that clock, it no longer works', async () => {
    await api.signup('late-reset@example.com');
    clock.set(Date.now());
    await api.call('POST', '/v1/auth/password/forgot', { body: { email: 'late-reset@example.com' } });
    const token = await linkMailedTo('late-reset@example.com', '/reset-password');
    clock.advance(RESET_TTL_SECONDS * 1000 + 1000);
    const late = await api.call('POST', '/v1/auth/password/reset', { body: { token, password: 'Velvet-Orchard-Compass-80' } });
    expect([late.status, late.body.code]).toEqual([400, 'token_invalid']);
  });
});
