/**
 * mailplane on real hosts, driven as a customer drives it: sign up, check out,
 * pay on the Stripe emulator's hosted page in Chromium, wait for `ready`,
 * create mailboxes and export their passwords through the API.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startHarness, type Harness } from '../../../support/provisioning.ts';
import { ensureBakedImage, type BakedImage } from './baked-image.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Programs and privileges real-host mode and its judges need. */
export function missingForRealHosts(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const p of [
    '/usr/sbin/debootstrap',
    '/usr/bin/systemd-nspawn',
    '/usr/sbin/apt-cacher-ng',
    '/usr/bin/pebble',
    '/usr/bin/swaks',
    '/usr/bin/testssl',
    CHROMIUM,
    '/usr/bin/curl',
    '/usr/bin/ssh',
  ]) {
    if (!existsSync(p)) missing.push(p);
  }
  return missing;
}

/**
 * The product on real hosts, with the pre-baked mail-server image in fr-par-1 (baked once per
 * package set and kept in the host cache dir: see baked-image.ts), so the servers every real-host
 * file provisions boot from it, as production's do once a zone has its image.
 * `env`: product settings on top of the sandbox's (e.g. MAILSTACK_TEMPLATES_DIR).
 */
export async function startRealHostProduct(env: Record<string, string> = {}): Promise<Harness & { image: BakedImage | null }> {
  const cacheDir = process.env['SANDBOX_HOSTS_CACHE_DIR'] ?? '/var/cache/mailplane';
  const h = await startHarness({
    env,
    realHosts: { cacheDir, mirror: process.env['SANDBOX_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian' },
    // Real machines take real time: SSH comes up in seconds, an install in minutes.
    settings: { retry: { baseMs: 1_000, maxMs: 10_000, maxAttempts: 10 }, pollIntervalMs: 500, serverBootTimeoutMs: 180_000 },
  });
  try {
    return Object.assign(h, { image: await ensureBakedImage(h, cacheDir) });
  } catch (err) {
    await h.close();
    throw err;
  }
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage', ...extraArgs],
  });
}

/** Checkout through the API, then "Pay" on the hosted checkout page in a real browser. */
export async function subscribeAndPay(h: Harness, browser: Browser, token: string, workspaceId: string, domain: string, region = 'fr-par-1'): Promise<string> {
  const checkout = await h.call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region, domain } });
  if (checkout.status !== 201) throw new Error(`checkout: ${checkout.status} ${JSON.stringify(checkout.body)}`);
  const page = await browser.newPage();
  try {
    await page.goto(checkout.body.checkoutUrl);
    await page.getByRole('button', { name: /^Pay/ }).first().click();
    await page.waitForLoadState('load');
  } finally {
    await page.close();
  }
  for (let i = 0; i < 100; i++) {
    const list = await h.call('GET', `/v1/workspaces/${workspaceId}/servers`, { token });
    const server = (list.body?.servers ?? list.body ?? []).find?.((s: { domain: string }) => s.domain === domain);
    if (server) return server.id as string;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no server for ${domain} after paying`);
}

export interface Mailbox {
  id: string;
  address: string;
  password: string;
}

/** Creates a mailbox, waits until the server has it, and exports its password from the vault. */
export async function mailbox(h: Harness, token: string, workspaceId: string, serverId: string, localPart: string): Promise<Mailbox> {
  const base = `/v1/workspaces/${workspaceId}/servers/${serverId}/mailboxes`;
  const created = await h.call('POST', base, { token, body: { localPart, displayName: localPart } });
  if (created.status !== 201) throw new Error(`mailbox: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.mailbox.id as string;
  for (let i = 0; ; i++) {
    const list = await h.call('GET', base, { token });
    const row = list.body.mailboxes.find((m: { id: string }) => m.id === id);
    if (row?.sync.status === 'applied') break;
    if (row?.sync.status === 'failed' || i > 600) throw new Error(`mailbox sync: ${JSON.stringify(row?.sync)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const exported = await h.call('POST', `${base}/${id}/password/export`, { token, body: { reason: 'e2e: log in with a real mail client' } });
  if (exported.status !== 200) throw new Error(`export: ${exported.status} ${JSON.stringify(exported.body)}`);
  return { id, address: exported.body.address, password: exported.body.password };
}
