/**
 * From a signed Stripe webhook to a ready server, on the sandbox: real SDKs
 * over HTTP to the emulators, real DNS over UDP, real SSH.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, auditLog, dkimKeys, dnsRecords, provisioningRuns, provisioningSteps, serverIps, servers } from '../../../src/db/schema/index.ts';
import { firstAddressOf } from '../../../src/providers/compute/scaleway-ipv6.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const recordsOf = (zoneName: string) => {
  const zone = h.sandbox.cloudflare!.zones().find((z) => z.name === zoneName);
  return zone ? h.sandbox.cloudflare!.records(zone.id) : [];
};

describe('provisioning on the sandbox', () => {
  it('turns a paid checkout into a ready server with every record published and PTRs set', async () => {
    const { token, workspaceId } = await h.customer('alice@example.org');
    const { serverId, sessionId } = await h.subscribe(token, workspaceId, 'alice-mail.example');
    const server = await h.waitForServer(serverId, ['ready', 'failed']);
    expect(server.statusReason).toBeNull();
    expect(server.status).toBe('ready');

    const steps = await h.database.db.select().from(provisioningSteps);
    expect(steps.every((s) => s.status === 'succeeded')).toBe(true);

    const records = recordsOf('alice-mail.example');
    const has = (type: string, name: string, pred: (content: string) => boolean = () => true) =>
      records.some((r: { type: string; name: string; content: string }) => r.type === type && r.name === name && pred(r.content));
    // The IPv6 published is the one mailplane fixes in the routed /64 (its ::1, configured by the mail
    // stack), not the SLAAC address the instance takes by itself, which a new instance would change.
    const [v6] = await h.database.db
      .select()
      .from(serverIps)
      .where(and(eq(serverIps.serverId, serverId), eq(serverIps.family, 'ipv6')));
    expect(server.ipv6).toBe(firstAddressOf(v6!.prefix!));
    expect(server.ipv6).not.toBe(h.sandbox.scaleway!.hostIpv6(server.providerServerId!));
    expect(has('A', 'mail.alice-mail.example', (c) => c === server.ipv4)).toBe(true);
    expect(has('AAAA', 'mail.alice-mail.example', (c) => c === server.ipv6)).toBe(true);
    expect(has('MX', 'alice-mail.example')).toBe(true);
    expect(has('TXT', 'alice-mail.example', (c) => c.includes(`v=spf1 ip4:${server.ipv4} ip6:${server.ipv6} -all`))).toBe(true);
    const [dkim] = await h.database.db.select().from(dkimKeys).where(eq(dkimKeys.serverId, serverId));
    expect(has('TXT', `${dkim!.selector}._domainkey.alice-mail.example`, (c) => c.includes('v=DKIM1'))).toBe(true);
    expect(has('TXT', '_dmarc.alice-mail.example', (c) => c.includes('p=quarantine'))).toBe(true);
    // Aggregate reports go to the customer's own server by default (an alias of the first mailbox there).
    expect(has('TXT', '_dmarc.alice-mail.example', (c) => c.includes('rua=mailto:dmarc-reports@alice-mail.example'))).toBe(true);
    expect(has('TXT', '_mta-sts.alice-mail.example')).toBe(true);
    expect(has('TXT', '_smtp._tls.alice-mail.example')).toBe(true);
    // CAA only where mailplane serves (webmail. and mta-sts. are CNAMEs to the mail host, whose CAA they follow): none on the apex.
    expect(has('CAA', 'mail.alice-mail.example', (c) => c === '0 issue "letsencrypt.org"')).toBe(true);
    expect(has('CAA', 'alice-mail.example')).toBe(false);
    expect(has('SSHFP', 'mail.alice-mail.example')).toBe(true);
    expect(has('TLSA', '_25._tcp.mail.alice-mail.example', (c) => c === `3 1 1 ${server.tlsSpkiSha256}`)).toBe(true);

    expect(h.sandbox.scaleway!.reverseOf(server.ipv4!)).toBe('mail.alice-mail.example');
    expect(h.sandbox.scaleway!.reverseOf(server.ipv6!)).toBe('mail.alice-mail.example');
    expect(h.sandbox.scaleway!.userData(server.providerServerId!)).toBeNull();
    // Its security group opens the mail ports to everyone and SSH only to the control plane (the sandbox's own addresses).
    const group = h.sandbox.scaleway!.listSecurityGroups().find((g) => g.servers.includes(server.providerServerId!))!;
    expect(
      group.inboundRules
        .filter((r) => r.port === 22)
        .map((r) => r.range)
        .sort(),
    ).toEqual(['127.0.0.1/32', '198.18.255.1/32', '2001:db8:ffff:ffff::1/128', '::1/128']);
    expect(
      group.inboundRules
        .filter((r) => r.port === 25)
        .map((r) => r.range)
        .sort(),
    ).toEqual(['0.0.0.0/0', '::/0']);

    // The same webhook delivered ten more times: still one server.
    const [delivery] = h.sandbox.stripe!.deliveries().filter((d: { sessionId?: string }) => d.sessionId === sessionId);
    for (let i = 0; i < 10; i++) await h.sandbox.stripe!.resend(delivery!.eventId);
    expect(await h.database.db.select().from(servers).where(eq(servers.domain, 'alice-mail.example'))).toHaveLength(1);
    expect(h.sandbox.scaleway!.listServers()).toHaveLength(1);

    // A support re-run of publish_dns changes nothing and is audited.
    const staff = await h.staff('support@mailplane.test');
    const before = JSON.stringify(recordsOf('alice-mail.example'));
    const rerun = await h.call('POST', `/v1/admin/servers/${serverId}/steps/publish_dns/rerun`, { token: staff });
    expect(rerun.status).toBe(202);
    await h.waitForStep(serverId, 'publish_dns', 'succeeded');
    expect(JSON.stringify(recordsOf('alice-mail.example'))).toBe(before);
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'provisioning.rerun_step'), eq(auditLog.target, serverId)));
    expect(audits).toHaveLength(1);

    // Steps that only make sense while the server is built are refused on the live server, from the API as from the page.
    for (const step of ['allocate_ips', 'check_blacklists', 'create_server']) {
      const refused = await h.call('POST', `/v1/admin/servers/${serverId}/steps/${step}/rerun`, { token: staff });
      expect([refused.status, refused.headers.get('content-type'), refused.body.code], step).toEqual([
        409,
        'application/problem+json',
        'step_unsafe_on_live_server',
      ]);
    }
    const [run] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
    expect(run!.status).toBe('succeeded');
    expect(h.sandbox.scaleway!.listServers()).toHaveLength(1);
    const page = (path: string, form?: Record<string, string>) =>
      fetch(`${h.baseUrl}${path}`, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { cookie: `mailplane_session=${staff}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: h.baseUrl } : {}) },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
    const support = await (await page(`/support/servers/${serverId}`)).text();
    expect(support).toContain('Not on a live server: allocate_ips is not re-run on a live server');
    expect(support).not.toContain('Re-run allocate_ips');
    expect(support).toContain('Re-run on this live server: Publishes mailplane');
    expect(support).toContain('Re-run publish_dns');
    const refusedPage = await page(`/support/servers/${serverId}/steps/create_server/rerun`, {});
    expect(refusedPage.status).toBe(409);
    expect(await refusedPage.text()).toContain('create_server is not re-run on a live server');
    // The trail reads as sentences and names people by address, not as JSON and id prefixes.
    expect(support).toContain('provisioning.rerun step');
    expect(support).toContain('support@mailplane.test');
    expect(support).not.toMatch(/<code>\{&quot;/);

    // The list names the customer (workspace and owner) and finds a server by domain or by owner email.
    const list = async (q: string) => (await page(`/support/servers?q=${encodeURIComponent(q)}`)).text();
    const all = await list('');
    expect(all).toContain('alice@example.org mail');
    expect(all).toContain('alice@example.org');
    expect(await list('ALICE-MAIL.exa')).toContain('alice-mail.example');
    expect(await list('alice@example')).toContain('alice-mail.example');
    expect(await list('nobody@example')).toContain('No server matches.');
    expect(await list('%')).toContain('No server matches.');
  });

  it('rotates a listed first IP and ends ready on a clean one', async () => {
    h.sandbox.listPolicy = (ip) => ip.family === 'ipv4' && !h.sandbox.listings.all().some((l: { ip: string }) => l.ip.includes('.'));
    try {
      const { token, workspaceId } = await h.customer('bob@example.org');
      const { serverId } = await h.subscribe(token, workspaceId, 'bob-mail.example');
      const server = await h.waitForServer(serverId, ['ready', 'failed']);
      expect(server.status).toBe('ready');
      const ips = await h.database.db
        .select()
        .from(serverIps)
        .where(and(eq(serverIps.serverId, serverId), eq(serverIps.family, 'ipv4')));
      expect(ips).toHaveLength(2);
      expect(ips.find((ip) => ip.address === server.ipv4)?.state).toBe('active');
      expect(ips.find((ip) => ip.address !== server.ipv4)?.state).toBe('released');
    } finally {
      h.sandbox.listPolicy = null;
    }
  });

  it('gives up after three rotations with a failed step, an ops alert and four IPs in history', async () => {
    h.sandbox.listPolicy = (ip) => ip.family === 'ipv4';
    try {
      const { token, workspaceId } = await h.customer('carol@example.org');
      const { serverId } = await h.subscribe(token, workspaceId, 'carol-mail.example');
      const server = await h.waitForServer(serverId, ['ready', 'failed']);
      expect(server.status).toBe('failed');
      expect(server.statusReason).toMatch(/check_blacklists/);
      const v4 = await h.database.db
        .select()
        .from(serverIps)
        .where(and(eq(serverIps.serverId, serverId), eq(serverIps.family, 'ipv4')));
      expect(v4).toHaveLength(4);
      const open = await h.database.db.select().from(alerts).where(eq(alerts.serverId, serverId));
      expect(open.map((a) => a.kind)).toEqual(['ip_rotation_exhausted']);
      expect(h.sandbox.scaleway!.listServers().filter((s: { tags: string[] }) => s.tags.some((t) => t.includes(serverId)))).toHaveLength(0);
    } finally {
      h.sandbox.listPolicy = null;
    }
  });

  it('finishes with 20 % of provider calls failing with 5xx or 429', async () => {
    for (const emulator of [h.sandbox.scaleway!, h.sandbox.cloudflare!]) emulator.faults.set({ errorRate: 0.1, rateLimitRate: 0.1, retryAfterSeconds: 0 });
    try {
      const { token, workspaceId } = await h.customer('dave@example.org');
      const { serverId } = await h.subscribe(token, workspaceId, 'dave-mail.example');
      const server = await h.waitForServer(serverId, ['ready', 'failed'], 120_000);
      expect(server.statusReason).toBeNull();
      expect(server.status).toBe('ready');
      expect(h.sandbox.scaleway!.faults.injected.errors + h.sandbox.cloudflare!.faults.injected.errors).toBeGreaterThan(0);
    } finally {
      for (const emulator of [h.sandbox.scaleway!, h.sandbox.cloudflare!]) emulator.faults.set({});
    }
  }, 150_000);

  it('removes every server, IP and record once the grace period of a cancelled subscription is over', async () => {
    const { token, workspaceId } = await h.customer('erin@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, 'erin-mail.example');
    const server = await h.waitForServer(serverId, ['ready', 'failed']);
    expect(server.status).toBe('ready');
    const [sub] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    await h.cancelSubscription(sub!.subscriptionId);
    // Kept, suspended, for the grace period; the grace sweep deprovisions it once that is over.
    expect((await h.waitForServer(serverId, ['suspended'], 5_000)).status).toBe('suspended');
    await h.afterGracePeriod();
    await h.waitForServer(serverId, ['deleted'], 20_000);
    expect(h.sandbox.scaleway!.listServers().filter((s: { id: string }) => s.id === server.providerServerId)).toHaveLength(0);
    const addresses = (await h.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId))).map((ip) => ip.address);
    expect(h.sandbox.scaleway!.listIps().filter((ip: { address: string }) => addresses.includes(ip.address))).toHaveLength(0);
    const published = await h.database.db.select().from(dnsRecords).where(eq(dnsRecords.serverId, serverId));
    const left = recordsOf('erin-mail.example').filter((r: { id: string }) => published.some((p) => p.providerRecordId === r.id));
    expect(left).toHaveLength(0);
    // The Block Storage boot volume outlives terminate on Scaleway: it must be gone too.
    expect(h.sandbox.scaleway!.listVolumes().filter((v) => v.tags.includes(`mailplane-server=${serverId}`))).toEqual([]);
  });
});
