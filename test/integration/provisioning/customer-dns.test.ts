/**
 * The customer's DNS on the sandbox, as a first real customer meets it: their
 * domain already serves a website and verification records (the emulator is
 * told what its public DNS answers before the move), nameservers move by hand
 * (SANDBOX_ZONE_ACTIVATION=manual), DNSSEC waits for the DS at the registrar
 * (SANDBOX_DNSSEC_ACTIVATION=registrar), and the account's pending-zone cap
 * is low. Nothing of the domain's DNS is lost, the customer's records are
 * never touched by mailplane, and the waits continue by themselves.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchDnssec } from '../../../provisioning/dnssec-watch.ts';
import { alerts, auditLog, provisioningSteps, servers } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SANDBOX_ZONE_ACTIVATION: 'manual', SANDBOX_DNSSEC_ACTIVATION: 'registrar', PROVISIONING_WAIT_RECHECK_SECONDS: '1' } });
});
afterAll(async () => {
  await h?.close();
});

const cf = () => h.sandbox.cloudflare!;
const zoneRecords = (domain: string) => {
  const zone = cf()
    .zones()
    .find((z) => z.name === domain);
  return zone ? cf().records(zone.id) : [];
};
const waitOf = async (ws: string, id: string, token: string, code: string) =>
  (await h.call('GET', `/v1/workspaces/${ws}/servers/${id}`, { token })).body.waitingFor?.find((w: { code: string }) => w.code === code);

describe("the customer's existing DNS and their own records", () => {
  it('imports the records found before the move, keeps them through the move, and lets owners manage theirs', async () => {
    const domain = 'shop-mail.example';
    // What the domain answers today at its old DNS host; crm. is not a name Cloudflare's scan guesses.
    cf().setPublicDns(domain, [
      { type: 'A', name: domain, content: '198.51.100.7' },
      { type: 'A', name: `www.${domain}`, content: '198.51.100.7' },
      { type: 'TXT', name: domain, content: 'google-site-verification=abc123' },
      { type: 'TXT', name: domain, content: 'v=spf1 include:_spf.crm-tool.example ~all' },
      { type: 'MX', name: domain, content: 'old-mx.hoster.example', priority: 10 },
      { type: 'A', name: `mail.${domain}`, content: '198.51.100.25' },
      { type: 'CNAME', name: `crm.${domain}`, content: 'tenant.crm-tool.example' },
    ]);
    cf().setPublicDns('crm-tool.example', [{ type: 'TXT', name: '_spf.crm-tool.example', content: 'v=spf1 ip4:203.0.113.0/24 -all' }]);
    expect(cf().answers(`www.${domain}`, 'A')).toEqual(['198.51.100.7']);

    const { token, workspaceId } = await h.customer('shop@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, domain);
    const pending = await until('zone_pending', () => waitOf(workspaceId, serverId, token, 'zone_pending'));
    // Asked to move the nameservers only after checking what was copied.
    expect(pending.action).toMatch(/^First check on the DNS page the 3 record\(s\) of yours/);
    const dnsPath = `/v1/workspaces/${workspaceId}/servers/${serverId}/dns`;

    // Before the customer is asked to move: the website and the verification are in the zone as theirs.
    const view = (await h.call('GET', dnsPath, { token })).body;
    const mine = view.customerRecords.map(
      (r: { type: string; name: string; content: string; source: string }) => `${r.source} ${r.type} ${r.name} ${r.content}`,
    );
    expect(mine).toEqual(
      expect.arrayContaining([
        `imported A ${domain} 198.51.100.7`,
        `imported A www.${domain} 198.51.100.7`,
        `imported TXT ${domain} google-site-verification=abc123`,
      ]),
    );
    // Where mailplane publishes, the old records are not kept; the old SPF's senders are.
    expect(mine.some((r: string) => r.includes(' MX ') || r.includes(`mail.${domain}`) || r.includes('v=spf1'))).toBe(false);
    expect(view.spf.terms).toEqual(['include:_spf.crm-tool.example']);
    expect(view.importedAt).not.toBeNull();
    expect(view.instructions).toContain('imported');
    const www = view.customerRecords.find((r: { name: string }) => r.name === `www.${domain}`);

    // The customer adds what the scan could not find; mailplane's names are refused.
    const crm = await h.call('POST', `${dnsPath}/records`, { token, body: { type: 'CNAME', name: 'crm', content: 'tenant.crm-tool.example' } });
    expect(crm.status).toBe(202);
    expect(crm.body.record).toMatchObject({ source: 'customer', name: `crm.${domain}`, state: 'pending' });
    for (const [body, status] of [
      [{ type: 'MX', name: '@', content: 'other.example', priority: 5 }, 409],
      [{ type: 'TXT', name: '@', content: 'v=spf1 include:x.example -all' }, 409],
      [{ type: 'A', name: 'mail', content: '192.0.2.1' }, 409],
      [{ type: 'CNAME', name: 'www', content: 'elsewhere.example' }, 409],
      [{ type: 'A', name: 'shop', content: '999.1.1.1' }, 400],
      [{ type: 'A', name: 'shop.other.example.', content: '192.0.2.1' }, 400],
    ] as const) {
      const res = await h.call('POST', `${dnsPath}/records`, { token, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const changed = await h.call('PUT', `${dnsPath}/records/${www.id}`, { token, body: { type: 'A', name: 'www', content: '198.51.100.8' } });
    expect(changed.status).toBe(202);
    await until('customer records published', async () => {
      const rows = (await h.call('GET', dnsPath, { token })).body.customerRecords as Array<{ state: string }>;
      return rows.every((r) => r.state === 'published') && rows;
    });
    expect(zoneRecords(domain).some((r) => r.type === 'CNAME' && r.name === `crm.${domain}` && r.content === 'tenant.crm-tool.example')).toBe(true);
    expect(
      zoneRecords(domain)
        .filter((r) => r.name === `www.${domain}`)
        .map((r) => r.content),
    ).toEqual(['198.51.100.8']);
    const audits = await h.database.db.select().from(auditLog).where(eq(auditLog.target, serverId));
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['dns.record_added', 'dns.record_changed']));

    // The customer moves the nameservers: nothing of the website is lost, and mailplane's records are there too.
    cf().activateZone(domain);
    expect((await h.waitForServer(serverId, ['ready', 'failed'], 90_000)).status).toBe('ready');
    expect(cf().answers(`www.${domain}`, 'A')).toEqual(['198.51.100.8']);
    expect(cf().answers(domain, 'A')).toEqual(['198.51.100.7']);
    expect(cf().answers(domain, 'TXT')).toEqual(expect.arrayContaining(['google-site-verification=abc123']));
    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    const spf = cf()
      .answers(domain, 'TXT')!
      .filter((t) => t.startsWith('v=spf1'));
    expect(spf).toEqual([`v=spf1 ip4:${server!.ipv4} ip6:${server!.ipv6} include:_spf.crm-tool.example -all`]);
    expect(cf().answers(domain, 'MX')).toEqual([`10 mail.${domain}`]);

    // Deleting one of theirs removes only that one; mailplane re-publishing touches none of them.
    const theirIds = () =>
      zoneRecords(domain)
        .filter((r) => r.name === `www.${domain}` || (r.name === domain && (r.type === 'A' || r.content.includes('google-site'))))
        .map((r) => r.id)
        .sort();
    const before = theirIds();
    expect(before).toHaveLength(3);
    const crmId = crm.body.record.id as string;
    expect((await h.call('DELETE', `${dnsPath}/records/${crmId}`, { token })).status).toBe(202);
    await until('crm deleted', async () => !zoneRecords(domain).some((r) => r.name === `crm.${domain}`));
    expect(theirIds()).toEqual(before);
    const staff = await h.staff('support-dns@mailplane.test');
    expect((await h.call('POST', `/v1/admin/servers/${serverId}/steps/publish_dns/rerun`, { token: staff })).status).toBe(202);
    await h.waitForStep(serverId, 'publish_dns', 'succeeded');
    expect(theirIds()).toEqual(before);

    // Cancelling removes mailplane's records only: the website stays.
    await h.cancelSubscription(server!.subscriptionId);
    // Kept, suspended, for the billing grace period; deprovisioned once it is over.
    await h.waitForServer(serverId, ['suspended'], 60_000);
    await h.afterGracePeriod();
    await h.waitForServer(serverId, ['deleted'], 90_000);
    expect(cf().answers(`www.${domain}`, 'A')).toEqual(['198.51.100.8']);
    // Their other senders are given back as their own SPF record.
    expect(cf().answers(domain, 'TXT')!.sort()).toEqual(['google-site-verification=abc123', 'v=spf1 include:_spf.crm-tool.example ~all']);
    expect(cf().answers(domain, 'MX')).toEqual([]);
  }, 240_000);

  it("merges the SPF senders the customer adds, refusing a set past SPF's 10 DNS lookups", async () => {
    const leaves = Array.from({ length: 10 }, (_, i) => ({ type: 'TXT', name: `l${i}.senders.example`, content: 'v=spf1 ip4:203.0.113.9 -all' }));
    cf().setPublicDns('senders.example', [
      ...leaves,
      { type: 'TXT', name: 'big.senders.example', content: `v=spf1 ${leaves.map((l) => `include:${l.name}`).join(' ')} -all` },
      { type: 'TXT', name: 'small.senders.example', content: 'v=spf1 ip4:203.0.113.10 -all' },
      { type: 'A', name: 'nospf.senders.example', content: '203.0.113.11' },
    ]);
    const domain = 'invoices-mail.example';
    const { token, workspaceId } = await h.customer('invoices@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, domain);
    await until('zone_pending', () => waitOf(workspaceId, serverId, token, 'zone_pending'));
    const spfPath = `/v1/workspaces/${workspaceId}/servers/${serverId}/dns/spf`;

    const tooMany = await h.call('PUT', spfPath, { token, body: { terms: ['include:big.senders.example'] } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ lookups: 11, limit: 10 });
    expect(tooMany.body.detail).toContain('10');
    const noSpf = await h.call('PUT', spfPath, { token, body: { terms: ['include:nospf.senders.example'] } });
    expect(noSpf.status).toBe(400);
    expect(noSpf.body.detail).toContain('publishes no SPF record');
    expect((await h.call('PUT', spfPath, { token, body: { terms: ['redirect=x.example'] } })).status).toBe(400);
    const [unchanged] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    expect(unchanged!.spfTerms).toEqual([]);

    const ok = await h.call('PUT', spfPath, { token, body: { terms: ['include:small.senders.example', 'ip4:192.0.2.0/24'] } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ terms: ['include:small.senders.example', 'ip4:192.0.2.0/24'], lookups: 1 });
    expect(ok.body.record).toMatch(/^v=spf1 ip4:\S+ ip6:\S+ include:small\.senders\.example ip4:192\.0\.2\.0\/24 -all$/);
    // Applied by the dns.sync job, in the zone the customer is about to move to.
    await until('SPF published with the senders', async () =>
      zoneRecords(domain).some((r) => r.type === 'TXT' && r.name === domain && r.content.includes('include:small.senders.example')),
    );
    expect(zoneRecords(domain).filter((r) => r.type === 'TXT' && r.name === domain && r.content.includes('v=spf1'))).toHaveLength(1);

    // The same on the dashboard's DNS page: the senders shown, a record added by form, a bad one refused.
    const pagePath = `/w/${workspaceId}/servers/${serverId}/dns`;
    const post = (path: string, form: Record<string, string>) =>
      fetch(`${h.baseUrl}${path}`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams(form).toString(),
        headers: { cookie: `mailplane_session=${token}`, origin: h.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
      });
    const html = await (await fetch(`${h.baseUrl}${pagePath}`, { headers: { cookie: `mailplane_session=${token}` } })).text();
    expect(html).toContain('Other senders (SPF)');
    expect(html).toContain('include:small.senders.example');
    expect((await post(`${pagePath}/records`, { type: 'TXT', name: '_acme-challenge', content: 'token-from-another-host' })).status).toBe(303);
    const refused = await post(`${pagePath}/records`, { type: 'MX', name: '@', content: 'mx.other.example', priority: '1' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('mailplane publishes');
    const rows = (await h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}/dns`, { token })).body.customerRecords as Array<{
      name: string;
      source: string;
    }>;
    expect(rows).toEqual([expect.objectContaining({ name: `_acme-challenge.${domain}`, source: 'customer' })]);

    // Cloudflare's scan keeps finding records while the zone waits: they are imported at the next check,
    // and one the customer deleted is not brought back by the scans after.
    cf().setPublicDns(domain, [{ type: 'A', name: `www.${domain}`, content: '198.51.100.70' }]);
    const dnsPath = `/v1/workspaces/${workspaceId}/servers/${serverId}/dns`;
    const imported = await until('www imported at a re-check', async () =>
      ((await h.call('GET', dnsPath, { token })).body.customerRecords as Array<{ id: string; name: string; source: string }>).find(
        (r) => r.name === `www.${domain}` && r.source === 'imported',
      ),
    );
    expect((await h.call('DELETE', `${dnsPath}/records/${imported.id}`, { token })).status).toBe(202);
    await until('www deleted', async () => !zoneRecords(domain).some((r) => r.name === `www.${domain}`));
    const checks = (await waitOf(workspaceId, serverId, token, 'zone_pending')).checks as number;
    await until('three more checks', async () => (await waitOf(workspaceId, serverId, token, 'zone_pending'))?.checks >= checks + 3);
    expect(zoneRecords(domain).some((r) => r.name === `www.${domain}`)).toBe(false);
    expect(((await h.call('GET', dnsPath, { token })).body.customerRecords as Array<{ name: string }>).some((r) => r.name === `www.${domain}`)).toBe(false);
  }, 120_000);

  it('keeps watching DNSSEC after ready and publishes TLSA once the DS is at the registrar', async () => {
    const domain = 'dane-mail.example';
    const { token, workspaceId } = await h.customer('dane@example.org');
    const { serverId } = await h.subscribe(token, workspaceId, domain);
    await until('zone_pending', () => waitOf(workspaceId, serverId, token, 'zone_pending'));
    cf().activateZone(domain);
    expect((await h.waitForServer(serverId, ['ready', 'failed'], 90_000)).status).toBe('ready');
    const tlsa = () => zoneRecords(domain).filter((r) => r.type === 'TLSA');

    let [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    expect(server!.dnssecStatus).toBe('pending');
    expect(tlsa()).toEqual([]);
    expect(server!.warnings.map((w) => w.code)).toContain('tlsa_not_published');
    // The customer sees what to add, with the key for registries that ask for it.
    const view = (await h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}/dns`, { token })).body;
    expect(view.dnssec).toMatchObject({
      status: 'pending',
      ds: server!.dnssecDs,
      key: { flags: 257, algorithm: '13', keyTag: expect.any(Number), publicKey: expect.any(String), digest: expect.any(String) },
    });
    expect(view.dnssec.waitingFor).toMatchObject({ code: 'dnssec_pending', party: 'customer' });
    expect(view.dnssec.waitingFor.action).toContain(server!.dnssecDs);

    expect(await watchDnssec(h.ctx.provisioning)).toMatchObject({ active: 0 });
    expect(tlsa()).toEqual([]);
    // The customer adds the DS at their registrar: the next watch publishes TLSA by itself.
    cf().addDsAtRegistrar(domain);
    expect((await watchDnssec(h.ctx.provisioning)).active).toBeGreaterThanOrEqual(1);
    [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    expect(server!.dnssecStatus).toBe('active');
    expect(tlsa().map((r) => r.content)).toEqual([`3 1 1 ${server!.tlsSpkiSha256}`]);
    expect(server!.warnings.map((w) => w.code)).not.toContain('tlsa_not_published');
    expect((await h.call('GET', `/v1/workspaces/${workspaceId}/servers/${serverId}/dns`, { token })).body.dnssec.waitingFor).toBeNull();
  }, 180_000);

  it("waits on Cloudflare's pending-zone cap with an ops alert instead of failing, and continues once zones activate", async () => {
    cf().setPendingZoneLimit(
      cf()
        .zones()
        .filter((z) => z.status === 'pending').length + 1,
    );
    try {
      const a = await h.customer('cap-a@example.org');
      const first = await h.subscribe(a.token, a.workspaceId, 'cap-one.example');
      await until('first zone pending', () => waitOf(a.workspaceId, first.serverId, a.token, 'zone_pending'));
      const b = await h.customer('cap-b@example.org');
      const second = await h.subscribe(b.token, b.workspaceId, 'cap-two.example');
      const wait = await until('zone_pending_limit', () => waitOf(b.workspaceId, second.serverId, b.token, 'zone_pending_limit'));
      expect(wait).toMatchObject({ step: 'publish_dns', party: 'ops' });
      expect(
        cf()
          .zones()
          .some((z) => z.name === 'cap-two.example'),
      ).toBe(false);
      const [alert] = await h.database.db
        .select()
        .from(alerts)
        .where(and(eq(alerts.kind, 'cloudflare_pending_zone_limit'), isNull(alerts.resolvedAt)));
      expect(alert?.serverId).toBe(second.serverId);
      // Re-checked several times without spending the retry budget, and the run is not failed.
      await until('three checks', async () => (await waitOf(b.workspaceId, second.serverId, b.token, 'zone_pending_limit'))?.checks >= 3);
      const [step] = await h.database.db
        .select()
        .from(provisioningSteps)
        .where(and(eq(provisioningSteps.name, 'publish_dns'), eq(provisioningSteps.status, 'waiting')));
      expect(step!.attempt).toBeLessThanOrEqual(1);
      expect((await h.database.db.select().from(servers).where(eq(servers.id, second.serverId)))[0]!.status).toBe('waiting');

      // The first customer moves their nameservers: a pending slot frees, the second zone is created.
      cf().activateZone('cap-one.example');
      await until('second zone pending', () => waitOf(b.workspaceId, second.serverId, b.token, 'zone_pending'), 90_000);
      expect(
        cf()
          .zones()
          .some((z) => z.name === 'cap-two.example'),
      ).toBe(true);
      const [after] = await h.database.db.select().from(alerts).where(eq(alerts.id, alert!.id));
      expect(after!.resolvedAt).not.toBeNull();
    } finally {
      cf().setPendingZoneLimit(50);
    }
  }, 180_000);
});
