/**
 * The dashboard in a real browser (Debian's chromium), through the real
 * server: the product, its workers and the sandbox emulators on 127.0.0.1.
 * One harness for the file; the journeys run in order and build on each
 * other (the invitee joins the first customer's workspace, support and ops
 * work on the server the customer bought). Every main page is checked with
 * axe-core, at phone width, and saved under .screenshots/ (`npm run screenshots` refreshes docs/screenshots/).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, serverIps, subscriptions } from '../../../src/db/schema/index.ts';
import { CHECK_NAMES } from '../../../src/health/check-types.ts';
import { checkServer } from '../../../src/ops/monitor.ts';
import { opsDeps } from '../../../src/app-context.ts';
import { STRONG_PASSWORD } from '../../support/api.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { totpCode } from '../../support/two-factor.ts';
import { browserMissing, checkPage, openBrowser, openMailedLink, type BrowserSession } from './browser.ts';
import { freePort } from '../../support/free-port.ts';

const missing = browserMissing();
if (missing) console.warn(`dashboard browser tests skipped: ${missing}`);

describe.skipIf(missing !== null)('dashboard journeys in chromium', { timeout: 240_000 }, () => {
  let h: Harness;
  let base: string;
  let owner: BrowserSession;
  const state: { workspace?: string; server?: string; domain: string } = { domain: 'harbour-mail.example' };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await startHarness({ port, env: { PUBLIC_URL: base, HEALTH_CHECK_INTERVAL_MINUTES: '1' } });
    owner = await openBrowser();
    // Dangerous actions ask first (data-confirm); the person in these journeys says yes.
    owner.page.on('dialog', (d) => void d.accept());
  }, 120_000);
  afterAll(async () => {
    await owner?.close();
    await h?.close();
  });

  it('a new customer signs up, verifies, subscribes, pays, watches the checklist, sees DNS and health, creates a mailbox and opens webmail', async () => {
    const { page } = owner;
    await page.goto(`${base}/`);
    await expect.poll(() => page.url()).toContain('/login');
    await checkPage(page, 'sign-in');
    await page.getByRole('link', { name: 'Create an account' }).first().click();
    await checkPage(page, 'sign-up');
    await page.getByLabel('Your name', { exact: true }).fill('Ada Lovelace');
    await page.getByLabel('Email', { exact: true }).fill('ada@harbour-mail.example');
    await page.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    // No session yet: sign-up answers alike for a new and a taken address; the mailed link signs in.
    await page.waitForURL(/\/signup\/check-mail$/);
    expect(await page.locator('main').textContent()).toContain('Open the link in it');
    await checkPage(page, 'sign-up-check-mail');

    await openMailedLink(page, base, 'ada@harbour-mail.example', /Confirm your email/, '/verify-email');
    await Promise.all([page.waitForURL(/notice=verified/, { timeout: 30_000 }), page.getByRole('button', { name: 'Confirm my email address' }).click()]);
    expect(await page.locator('.notice').textContent()).toContain('confirmed');
    await page.goto(`${base}/sandbox/mail`);
    await checkPage(page, 'sandbox-mailbox');

    await page.goto(`${base}/workspaces`);
    await checkPage(page, 'workspaces');
    await page.getByLabel('Workspace name').fill('Harbour Co');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}$/);
    state.workspace = page.url().split('/w/')[1]!;

    await page.getByRole('link', { name: 'Subscribe to a new mail server' }).click();
    await expect(await page.getByText('€19.00 per month').count()).toBeGreaterThan(0);
    await checkPage(page, 'subscribe', { phoneShot: true });
    await page
      .getByLabel(/Amsterdam/)
      .first()
      .check();
    await page.getByLabel('Your domain').fill(state.domain);
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    // Paid by card, Stripe's page brings the customer straight back.
    await page
      .getByRole('button', { name: /^Pay( by card)?$/ })
      .first()
      .click();
    await page.waitForURL(/\/servers\/[0-9a-f-]{36}$/);
    state.server = page.url().split('/servers/')[1]!;

    // The checklist follows the event stream: it reaches ready without the test reloading.
    await expect(page.locator('#checklist li').first()).toBeDefined();
    await checkPage(page, 'server-provisioning');
    await page.locator('#server-status.ready').waitFor({ timeout: 120_000 });
    await expect(await page.locator('#checklist .mark.failed').count()).toBe(0);
    expect(await page.locator('#checklist li').count()).toBeGreaterThanOrEqual(12);
    await checkPage(page, 'server', { phoneShot: true });

    await page.getByRole('link', { name: 'DNS', exact: true }).click();
    expect(await page.getByText('✓ matches').count()).toBeGreaterThan(8);
    expect(await page.getByText('forward-confirmed').count()).toBe(2);
    await checkPage(page, 'dns', { phoneShot: true });

    await page.getByRole('link', { name: 'Health' }).click();
    await page.getByRole('button', { name: 'Run the checks now' }).click();
    await expect
      .poll(
        async () => {
          await page.reload();
          return (await page.locator('main').textContent())?.replace(/\s+/g, ' ');
        },
        { timeout: 60_000, interval: 2000 },
      )
      .toContain('Nothing is failing.');
    expect(await page.locator('.checklist li').count()).toBe(CHECK_NAMES.length);
    await checkPage(page, 'health', { phoneShot: true });

    await page.getByRole('link', { name: 'Mailboxes' }).click();
    await page.getByLabel(/Address \(before @/).fill('alice');
    await page.getByLabel('Display name').fill('Alice');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    const password = (await page.locator('#mailbox-password').textContent())?.trim() ?? '';
    expect(password.length).toBeGreaterThanOrEqual(16);
    await checkPage(page, 'mailbox-created');
    await expect
      .poll(
        async () => {
          await page.goto(`${base}/w/${state.workspace}/servers/${state.server}/mailboxes`);
          return page.locator('.pill.applied').count();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(1);
    await checkPage(page, 'mailboxes', { phoneShot: true });

    // Webmail lives on the customer's own server; the browser is sent there with a single-use link.
    // The sandbox's emulated server runs none, so its stand-in checks the link as the server would.
    await page.getByRole('button', { name: 'Open webmail for alice' }).click();
    await page.waitForURL(/\/sandbox\/webmail\/[0-9a-f-]{36}\?token=/);
    expect(await page.locator('main').textContent()).toContain(`Signed in as alice@${state.domain}`);
    await checkPage(page, 'sandbox-webmail');
    await page.reload();
    expect(await page.locator('main').textContent()).toContain('already used');
    await page.goBack();

    await page.goto(`${base}/w/${state.workspace}/servers/${state.server}/settings`);
    await checkPage(page, 'mail-client-settings');
    await page.goto(`${base}/account`);
    await checkPage(page, 'account');
  });

  it('an invitee accepts from the emailed link and, as a member, sees no owner-only action', async () => {
    const { page } = owner;
    await page.goto(`${base}/w/${state.workspace}/team`);
    await page.getByLabel('Email', { exact: true }).fill('bob@harbour-mail.example');
    await page.getByRole('combobox', { name: 'Role' }).selectOption('member');
    await Promise.all([page.waitForURL(/notice=invited/, { timeout: 30_000 }), page.getByRole('button', { name: 'Send invitation' }).click()]);
    expect(await page.locator('.notice').textContent()).toContain('Invitation sent');
    await checkPage(page, 'team');
    await page.goto(`${base}/w/${state.workspace}/api-keys`);
    await page.getByLabel('Name').fill('CI');
    await page.getByRole('button', { name: 'Create key' }).click();
    expect((await page.locator('#new-key').textContent())?.trim()).toMatch(/^mpk_/);
    await checkPage(page, 'api-keys');

    const bob = await openBrowser();
    try {
      const p = bob.page;
      await openMailedLink(p, base, 'bob@harbour-mail.example', /You are invited to a workspace/, '/invitations/accept');
      await p.waitForURL(/\/login\?next=/);
      await p.locator('main').getByRole('link', { name: 'Create an account' }).click();
      await p.getByLabel('Your name', { exact: true }).fill('Bob Member');
      await p.getByLabel('Email', { exact: true }).fill('bob@harbour-mail.example');
      await p.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await p.getByRole('button', { name: 'Create account' }).click();
      await p.waitForURL(/\/signup\/check-mail$/);
      // Confirming through the mailed link signs Bob in and continues to the invitation he came from.
      await openMailedLink(p, base, 'bob@harbour-mail.example', /Confirm your email/, '/verify-email');
      await Promise.all([
        p.waitForURL(/\/invitations\/accept\?token=/, { timeout: 30_000 }),
        p.getByRole('button', { name: 'Confirm my email address' }).click(),
      ]);
      // The page says who invited Bob, to which workspace and as what, before he joins.
      expect(await p.locator('main').textContent()).toMatch(/invited you to the workspace .+ as a member\./);
      await p.getByRole('button', { name: /^Join / }).click();
      await p.waitForURL(new RegExp(`/w/${state.workspace}\\?notice=joined`));

      expect(await p.getByRole('link', { name: 'Subscribe to a new mail server' }).count()).toBe(0);
      expect(await p.getByRole('link', { name: 'API keys' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: 'Rename' }).count()).toBe(0);
      await p.goto(`${base}/w/${state.workspace}/team`);
      expect(await p.getByRole('button', { name: 'Send invitation' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^Remove / }).count()).toBe(0);
      await p.goto(`${base}/w/${state.workspace}/servers/${state.server}/mailboxes`);
      expect(await p.getByRole('button', { name: 'Open webmail for alice' }).count()).toBe(1);
      for (const owners of [/^Reset password/, /^Delete /, /^Create mailbox/]) expect(await p.getByRole('button', { name: owners }).count()).toBe(0);
      expect(await p.getByText(/Show password of/).count()).toBe(0);
      await checkPage(p, 'mailboxes-as-member');
      // What the page hides, the server refuses: the same permission table as the API.
      const res = await p.goto(`${base}/w/${state.workspace}/api-keys`);
      expect(res?.status()).toBe(403);
    } finally {
      await bob.close();
    }
  });

  it('support re-runs a step of a server and sees it audited', async () => {
    await h.staff('sam@mailplane.example', 'support');
    const s = await openBrowser();
    s.page.on('dialog', (d) => void d.accept());
    try {
      const p = s.page;
      await p.goto(`${base}/login`);
      await p.getByLabel('Email', { exact: true }).fill('sam@mailplane.example');
      await p.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await p.getByRole('button', { name: 'Sign in' }).click();
      // Staff always have a second factor: the code of the next step (enrolment spent the current one).
      await p.getByLabel(/Code from your authenticator app/).fill(totpCode(h.totpSecrets.get('sam@mailplane.example')!, Date.now() + 30_000));
      await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/login')), p.getByRole('button', { name: 'Verify' }).click()]);
      await p.goto(`${base}/support/servers?status=ready`);
      await checkPage(p, 'support-servers');
      await p.getByRole('link', { name: state.domain }).click();
      await Promise.all([p.waitForURL(/notice=rerun/, { timeout: 30_000 }), p.getByRole('button', { name: 'Re-run verify' }).click()]);
      expect(await p.locator('.notice').textContent()).toContain('Step queued again');
      expect((await p.getByRole('cell', { name: 'step.rerun' }).count()) + (await p.getByText(/rerun/).count())).toBeGreaterThan(0);
      await h.waitForStep(state.server!, 'verify', 'succeeded');
      await p.reload();
      await checkPage(p, 'support-server');
    } finally {
      await s.close();
    }
  });

  it('ops acknowledges the alert opened by a listed IP, then rotates the IP and follows the run', async () => {
    const [ip] = await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, state.server!));
    h.sandbox.listings.list(ip!.address);
    await checkServer(opsDeps(h.ctx), state.server!);
    await h.staff('olga@mailplane.example', 'ops');
    const s = await openBrowser();
    try {
      const p = s.page;
      await p.goto(`${base}/login`);
      await p.getByLabel('Email', { exact: true }).fill('olga@mailplane.example');
      await p.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await p.getByRole('button', { name: 'Sign in' }).click();
      // Staff always have a second factor: the code of the next step (enrolment spent the current one).
      await p.getByLabel(/Code from your authenticator app/).fill(totpCode(h.totpSecrets.get('olga@mailplane.example')!, Date.now() + 30_000));
      await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/login')), p.getByRole('button', { name: 'Verify' }).click()]);
      await p.goto(`${base}/ops/alerts`);
      expect(await p.getByText(ip!.address).count()).toBeGreaterThan(0);
      // Listed on every zone: one alert naming them all, not one per zone.
      expect(await p.getByRole('button', { name: 'Acknowledge ip_listed' }).count()).toBe(1);
      expect(await p.getByText(/is listed on \d+ DNSBL zones/).count()).toBe(1);
      await checkPage(p, 'ops-alerts', { phoneShot: true });
      await Promise.all([
        p.waitForURL(/notice=acknowledged/, { timeout: 30_000 }),
        p.getByRole('button', { name: 'Acknowledge ip_listed' }).first().click(),
      ]).catch(async (err) => {
        throw new Error(`${err}; page: ${(await p.locator('main').textContent())?.replace(/\s+/g, ' ').slice(0, 800)}`);
      });
      expect(await p.locator('.notice').textContent()).toContain('Alert acknowledged');
      await p.goto(`${base}/ops/reconcile`);
      await checkPage(p, 'ops-reconcile');

      h.sandbox.listings.delist(ip!.address);
      p.on('dialog', (d) => void d.accept());
      // The remedy is on the alert itself.
      await p.goto(`${base}/ops/alerts?status=acknowledged&kind=ip_listed`);
      await p.getByRole('button', { name: `Rotate this IP (${ip!.address})` }).click();
      await p.waitForURL(/notice=rotation_started/);
      expect(await p.getByRole('heading', { name: /Latest run: rotate_ip/ }).count()).toBe(1);
      await expect
        .poll(
          async () => {
            await p.reload();
            return p.getByRole('heading', { name: /Latest run: rotate_ip/ }).textContent();
          },
          { timeout: 90_000, interval: 1500 },
        )
        .toContain('succeeded');
      await checkPage(p, 'ops-rotation');
    } finally {
      await s.close();
    }
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, state.server!));
    expect(server!.status).toBe('ready');
  });

  it('the owner\'s card fails: Billing says so, "Manage billing" opens the Stripe portal, paying there makes the server ready again', async () => {
    const [row] = await h.database.db
      .select({ stripeId: subscriptions.stripeSubscriptionId })
      .from(servers)
      .innerJoin(subscriptions, eq(subscriptions.id, servers.subscriptionId))
      .where(eq(servers.id, state.server!));
    expect((await h.sandbox.stripe!.failPayment(row!.stripeId!)).status).toBe(200);
    const { page } = owner;
    await page.goto(`${base}/w/${state.workspace}`);
    await page.getByRole('link', { name: 'Billing' }).click();
    expect(await page.locator('main').textContent()).toContain('Payment failed');
    await checkPage(page, 'billing', { phoneShot: true });
    await page.getByRole('button', { name: 'Manage billing' }).click();
    await page.waitForURL(/\/p\/session\/bps_/);
    await page.getByRole('button', { name: 'Update card and pay' }).click();
    await page.getByText('Payment received').waitFor();
    await page.getByRole('link', { name: /Return to mailplane/ }).click();
    await page.waitForURL(/\/billing$/);
    expect(await page.locator('main').textContent()).not.toContain('Payment failed');
    expect(await page.locator('.pill.active').count()).toBe(1);
    expect((await h.waitForServer(state.server!, ['ready'], 10_000)).status).toBe('ready');
  });
  it('the owner cancels one server at the end of its period from Billing, then undoes it; the account page lists where they are signed in', async () => {
    const { page } = owner;
    await page.goto(`${base}/w/${state.workspace}/billing`);
    await page.getByRole('link', { name: 'Cancel this server' }).click();
    await page.getByLabel(`Type ${state.domain} to confirm`).fill(state.domain!);
    await Promise.all([page.waitForURL(/notice=server_cancelled/, { timeout: 30_000 }), page.getByRole('button', { name: 'Cancel this server' }).click()]);
    expect(await page.locator('main').textContent()).toMatch(/Cancelled: the server runs until/);
    await checkPage(page, 'billing-cancelled');
    await Promise.all([page.waitForURL(/notice=cancel_undone/, { timeout: 30_000 }), page.getByRole('button', { name: 'Undo the cancellation' }).click()]);
    expect(await page.locator('main').textContent()).not.toMatch(/Cancelled: the server runs until/);
    expect((await h.waitForServer(state.server!, ['ready'], 10_000)).status).toBe('ready');

    await page.goto(`${base}/account`);
    const devices = page.getByRole('region', { name: 'Where you are signed in' });
    expect(await devices.textContent()).toContain('this session');
    await checkPage(page, 'account-sessions');
  });
});
