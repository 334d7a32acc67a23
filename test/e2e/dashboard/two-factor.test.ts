/**
 * Two-factor sign-in in a real browser (Debian's chromium), through the real
 * server (issue 23, proof 7): a person sets up an authenticator app with the
 * code computed from the secret the page shows, adds a passkey made by
 * Chromium's virtual authenticator (DevTools protocol: WebAuthn.enable,
 * WebAuthn.addVirtualAuthenticator), signs out and in with each, spends a
 * recovery code that then fails a second time, and removes the passkey with
 * their password. A member of a workspace that requires two-factor sign-in,
 * and a staff account, are sent to enrolment before any page. The dashboard
 * runs on http://localhost: browsers refuse WebAuthn on an IP-address origin.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { totpCode } from '../../support/two-factor.ts';
import { browserMissing, checkPage, openBrowser, openMailedLink, type BrowserSession } from './browser.ts';
import { freePort } from '../../support/free-port.ts';

const missing = browserMissing();
if (missing) console.warn(`two-factor browser tests skipped: ${missing}`);

describe.skipIf(missing !== null)('two-factor sign-in in chromium', { timeout: 180_000 }, () => {
  let h: Harness;
  let base: string;
  let b: BrowserSession;
  const email = 'tess@two-factor.example';

  const signOut = async (page: Page) => {
    await Promise.all([page.waitForURL(/notice=signed_out/), page.getByRole('button', { name: 'Sign out' }).click()]);
  };
  const password = async (page: Page, who: string) => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Email', { exact: true }).fill(who);
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  const signedInAs = async (page: Page) => ((await (await page.request.get(`${base}/v1/me`)).json()) as { user?: { email: string } }).user?.email ?? null;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    h = await startHarness({ port, env: { PUBLIC_URL: base } });
    b = await openBrowser();
    b.page.on('dialog', (d) => void d.accept());
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await h?.close();
  });

  it('enrols an authenticator app and a passkey, then signs in with each, and with a recovery code once', async () => {
    const { page, context } = b;
    await page.goto(`${base}/signup`);
    await page.getByLabel('Your name', { exact: true }).fill('Tess');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    // Sign-up issues no session: the mailed confirmation link signs in.
    await page.waitForURL(/\/signup\/check-mail$/);
    await openMailedLink(page, base, email, /Confirm your email/, '/verify-email');
    await Promise.all([page.waitForURL(/\/workspaces/, { timeout: 30_000 }), page.getByRole('button', { name: 'Confirm my email address' }).click()]);

    await page.goto(`${base}/account/two-factor`);
    await checkPage(page, 'two-factor');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL(/\/account\/two-factor\/totp$/);
    const secret = (await page.locator('#totp-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await checkPage(page, 'two-factor-totp');
    await page.getByLabel('6-digit code').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    const codes = (await page.locator('#recovery-codes').textContent())!.trim().split('\n');
    expect(codes).toHaveLength(10);
    await page.getByRole('link', { name: 'I have saved them' }).click();

    // Chromium's virtual authenticator stands in for a platform passkey (user verification always succeeds).
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.getByLabel('Name for the new passkey').fill('Laptop');
    await Promise.all([page.waitForURL(/notice=passkey_added/), page.getByRole('button', { name: 'Add a passkey' }).click()]);
    expect(await page.locator('li > strong', { hasText: 'Laptop' }).count()).toBe(1);
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);

    // The authenticator app: the next step's code (enrolment spent this one).
    await signOut(page);
    await password(page, email);
    await page.getByLabel(/Code from your authenticator app/).waitFor();
    expect(await signedInAs(page)).toBeNull();
    await checkPage(page, 'sign-in-second-factor');
    await page.getByLabel(/Code from your authenticator app/).fill(totpCode(secret, Date.now() + 30_000));
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/' || u.pathname.startsWith('/workspaces')),
      page.getByRole('button', { name: 'Verify' }).click(),
    ]);
    expect(await signedInAs(page)).toBe(email);

    // The passkey.
    await signOut(page);
    await password(page, email);
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
    expect(await signedInAs(page)).toBe(email);
    const [stored] = await h.database.sql<{ counter: number; last_used_at: Date | null }[]>`select counter, last_used_at from passkeys`;
    expect(stored!.last_used_at).not.toBeNull();

    // A recovery code: once.
    await signOut(page);
    await password(page, email);
    await page.getByLabel(/Code from your authenticator app/).fill(codes[3]!);
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Verify' }).click()]);
    expect(await signedInAs(page)).toBe(email);
    await signOut(page);
    await password(page, email);
    await page.getByLabel(/Code from your authenticator app/).fill(codes[3]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('.error', { hasText: 'not right' }).waitFor();
    expect(await signedInAs(page)).toBeNull();
    await page.getByLabel(/Code from your authenticator app/).fill(codes[4]!);
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Verify' }).click()]);

    // Removing the passkey asks for the password; the authenticator app stays.
    await page.goto(`${base}/account/two-factor`);
    await page.getByText('Remove Laptop').click();
    await page.getByLabel('Your password').first().fill(STRONG_PASSWORD);
    await Promise.all([page.waitForURL(/notice=passkey_removed/), page.getByRole('button', { name: 'Remove passkey' }).click()]);
    expect((await h.database.sql`select 1 from passkeys`).length).toBe(0);
    const mails = await h.database.sql<{ subject: string }[]>`select subject from sandbox_mail where ${email} = any("to") order by created_at`;
    expect(mails.map((m) => m.subject)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/authenticator app was set up/),
        expect.stringMatching(/passkey was added/),
        expect.stringMatching(/recovery code was used/),
        expect.stringMatching(/passkey was removed/),
      ]),
    );
  });

  it('sends a member of a workspace that requires it, and a staff account, to enrolment before any page', async () => {
    const { page } = b;
    // Tess (signed in, with an authenticator) makes a workspace that requires two-factor sign-in.
    await page.goto(`${base}/workspaces`);
    await page.getByLabel('Workspace name').fill('Strict Co');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}$/);
    const ws = page.url().split('/w/')[1]!;
    await page.goto(`${base}/w/${ws}/team`);
    await page.getByLabel('Members must use two-factor sign-in').check();
    await Promise.all([page.waitForURL(/notice=security_saved/), page.getByRole('button', { name: 'Save sign-in policy' }).click()]);
    await signOut(page);

    const member = await h.signup('max@two-factor.example', { name: 'Max' });
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${ws}, ${member.userId}, 'member')`;
    await password(page, 'max@two-factor.example');
    await page.waitForURL(/\/account\/two-factor\?notice=two_factor_required/);
    for (const path of ['/', `/w/${ws}`, `/w/${ws}/team`, '/account', '/workspaces']) {
      await page.goto(`${base}${path}`);
      expect(new URL(page.url()).pathname, path).toBe('/account/two-factor');
    }
    expect(await page.locator('#two-factor-status').textContent()).toContain('Strict Co');
    await signOut(page);

    const staff = await h.signup('sid@two-factor.example', { name: 'Sid' });
    await h.database.sql`update users set staff_role = 'support' where id = ${staff.userId}`;
    await password(page, 'sid@two-factor.example');
    await page.waitForURL(/\/account\/two-factor\?notice=two_factor_required/);
    await page.goto(`${base}/support/servers`);
    expect(new URL(page.url()).pathname).toBe('/account/two-factor');
    expect(await page.locator('#two-factor-status').textContent()).toContain('staff role');
  });
});
