/**
 * The sandbox's accounts survive a restart with the data dir: what a first
 * sandbox held (instances, IPs with their reverses, IPAM, volumes, security
 * groups, zones and records, customers and subscriptions) is served by the next
 * one started on the same data dir, and address allocation continues after
 * the highest address ever handed out — a new server never gets a live one's.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.ts';
import { createStripeBilling } from '../../../src/providers/billing/stripe.ts';
import { createScalewayCompute } from '../../../src/providers/compute/scaleway.ts';
import { createCloudflareDns } from '../../../src/providers/dns/cloudflare.ts';
import { DEFAULT_DNSBL_ZONES } from '../../../src/providers/lookup/dnsbl-zones.ts';
import { Sandbox } from '../../../src/sandbox/sandbox.ts';

const ZONE = 'fr-par-1';
const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))) };
let dataDir: string;
const started: Sandbox[] = [];

afterAll(async () => {
  for (const s of started) await s.stop().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function startSandbox(): Promise<Sandbox> {
  const sandbox = new Sandbox({ compute: true, dns: true, billing: true, dataDir, dnsblZones: DEFAULT_DNSBL_ZONES, persistState: true });
  started.push(sandbox);
  await sandbox.start();
  return sandbox;
}

function adapters(sandbox: Sandbox) {
  const env = sandbox.env();
  return {
    compute: createScalewayCompute({
      accessKey: env['SCW_ACCESS_KEY']!,
      secretKey: env['SCW_SECRET_KEY']!,
      projectId: env['SCW_DEFAULT_PROJECT_ID']!,
      apiUrl: env['SCW_API_URL']!,
      clock,
    }),
    dns: createCloudflareDns({ apiToken: env['CLOUDFLARE_API_TOKEN']!, accountId: env['CLOUDFLARE_ACCOUNT_ID']!, apiUrl: env['CLOUDFLARE_API_URL']! }),
    billing: createStripeBilling({ secretKey: env['STRIPE_SECRET_KEY']!, webhookSecret: env['STRIPE_WEBHOOK_SECRET']!, apiUrl: env['STRIPE_API_URL']!, clock }),
  };
}

describe('sandbox state across a restart', { timeout: 90_000 }, () => {
  it('a restarted sandbox on the same data dir serves what the first one held, and allocates after it', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mailplane-sandbox-state-'));
    const first = await startSandbox();
    const a = adapters(first);
    const v4 = await a.compute.createIp(ZONE, 'ipv4', ['mailplane', 'persist']);
    const v6 = await a.compute.createIp(ZONE, 'ipv6', ['mailplane', 'persist']);
    const group = await a.compute.ensureSecurityGroup(ZONE, { name: 'persist-sg', tags: ['mailplane', 'persist'], inboundTcpPorts: [22, 25] });
    const server = await a.compute.createServer({
      zone: ZONE,
      name: 'mail.persist.example',
      commercialType: 'DEV1-S',
      image: 'debian_bookworm',
      cloudInit: '#cloud-config\n',
      tags: ['mailplane', 'persist'],
      ipIds: [v4.id, v6.id],
      securityGroupId: group.id,
    });
    await a.compute.powerOn(ZONE, server.id);
    await a.compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 10_000, intervalMs: 20 });
    const zone = await a.dns.ensureZone('persist.example');
    await a.dns.createRecord(zone.id, { type: 'A', name: 'mail.persist.example', content: v4.address });
    await a.compute.setIpv4Reverse(ZONE, v4.id, 'mail.persist.example');
    const session = await a.billing.createCheckoutSession({
      priceId: 'price_mailplane_starter',
      customerEmail: 'persist@example.com',
      clientReferenceId: 'ref-1',
      metadata: {},
      successUrl: 'http://127.0.0.1/ok',
      cancelUrl: 'http://127.0.0.1/no',
      tax: { automaticTax: true, taxIdCollection: true, billingAddressCollection: 'required' },
    });
    await first.stripe!.completeCheckout(session.id).catch(() => {}); // no webhook receiver: the state changes all the same
    // A checkout still open when the sandbox stops: its link must work after the restart.
    const pending = await a.billing.createCheckoutSession({
      priceId: 'price_mailplane_starter',
      customerEmail: 'pending@example.com',
      clientReferenceId: 'ref-2',
      metadata: {},
      successUrl: 'http://127.0.0.1/ok',
      cancelUrl: 'http://127.0.0.1/no',
      tax: { automaticTax: true, taxIdCollection: true, billingAddressCollection: 'required' },
    });
    const urls = { scaleway: first.scaleway!.url, cloudflare: first.cloudflare!.url, stripe: first.stripe!.url };
    const before = {
      servers: first.scaleway!.listServers(),
      ips: first.scaleway!.listIps(),
      groups: first.scaleway!.listSecurityGroups(),
      zones: first.cloudflare!.zones(),
      records: first.cloudflare!.records(),
      customers: first.stripe!.customers(),
      subscriptions: first.stripe!.subscriptions(),
    };
    expect(before.subscriptions).toHaveLength(1);
    await first.stop();
    expect((await stat(join(dataDir, 'sandbox-state', 'emulators.json'))).mode & 0o077).toBe(0);

    const second = await startSandbox();
    // The emulators come back on their ports: links handed out before the restart still lead somewhere.
    expect({ scaleway: second.scaleway!.url, cloudflare: second.cloudflare!.url, stripe: second.stripe!.url }).toEqual(urls);
    const page = await fetch(pending.url);
    expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('Pay by card')]);
    expect(second.scaleway!.listServers()).toEqual(before.servers);
    expect(second.scaleway!.listIps()).toEqual(before.ips);
    expect(second.scaleway!.listSecurityGroups()).toEqual(before.groups);
    expect(second.scaleway!.reverseOf(v4.address)).toBe('mail.persist.example');
    expect(second.cloudflare!.zones()).toEqual(before.zones);
    expect(second.cloudflare!.records()).toEqual(before.records);
    expect(second.cloudflare!.answers('mail.persist.example', 'A')).toEqual([v4.address]);
    expect(second.stripe!.customers()).toEqual(before.customers);
    expect(second.stripe!.subscriptions()).toEqual(before.subscriptions);

    // Through the API too, and the next addresses come after the highest one ever handed out.
    const b = adapters(second);
    expect((await b.compute.getServer(ZONE, server.id))?.state).toBe('running');
    const nextV4 = await b.compute.createIp(ZONE, 'ipv4', ['mailplane', 'persist']);
    const nextV6 = await b.compute.createIp(ZONE, 'ipv6', ['mailplane', 'persist']);
    expect(before.ips.map((ip) => ip.address)).not.toContain(nextV4.address);
    expect(nextV4.address).not.toBe(v4.address);
    expect(nextV6.address).not.toBe(v6.address);
    expect(second.scaleway!.listIps().map((ip) => ip.address)).not.toContain(undefined);
    expect(Number(nextV4.address.split('.').at(-1))).toBeGreaterThan(Number(v4.address.split('.').at(-1)));
  });
});
