/**
 * The adapters against the real Scaleway, Cloudflare and Stripe (`npm run test:live`).
 * Each provider runs only when its credentials are in the environment, and never in CI.
 * Everything created carries a unique tag or name and is deleted at the end; the run
 * then lists what is left under that tag and fails if anything is. It prints what it
 * did and what the providers answered, so a person with accounts can read the proof.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { ProviderError } from '../../src/errors.ts';
import { createStripeBilling } from '../../src/providers/billing/stripe.ts';
import type { ComputeProvider, Zone } from '../../src/providers/compute/interface.ts';
import { createScalewayCompute } from '../../src/providers/compute/scaleway.ts';
import { createCloudflareDns } from '../../src/providers/dns/cloudflare.ts';
import type { DnsProvider, DnsRecordInput } from '../../src/providers/dns/interface.ts';

const env = process.env;
const RUN = `mp-live-${randomBytes(4).toString('hex')}`;
const say = (line: string) => process.stdout.write(`[live] ${line}\n`);
const inCi = Boolean(env['CI']);

const scw = env['SCW_ACCESS_KEY'] && env['SCW_SECRET_KEY'] && env['SCW_DEFAULT_PROJECT_ID'] && !inCi;
const cf = env['CLOUDFLARE_API_TOKEN'] && env['CLOUDFLARE_ACCOUNT_ID'] && env['LIVE_CLOUDFLARE_ZONE'] && !inCi;
const stripeKey = env['STRIPE_SECRET_KEY'] && env['LIVE_STRIPE_PRICE'] && !inCi;

const dns: DnsProvider | null = cf ? createCloudflareDns({ apiToken: env['CLOUDFLARE_API_TOKEN']!, accountId: env['CLOUDFLARE_ACCOUNT_ID']! }) : null;
const ZONE_NAME = env['LIVE_CLOUDFLARE_ZONE'] ?? '';

async function retryWhile<T>(what: string, fn: () => Promise<T>, retryable: (err: unknown) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err) || Date.now() > deadline) throw err;
      say(`${what}: ${err instanceof Error ? err.message : String(err)}; trying again in 15 s`);
      await new Promise((r) => setTimeout(r, 15_000));
    }
  }
}

describe.skipIf(!scw)('Scaleway (real)', () => {
  const zone = (env['LIVE_SCW_ZONE'] ?? 'fr-par-1') as Zone;
  const compute: ComputeProvider = createScalewayCompute({
    accessKey: env['SCW_ACCESS_KEY']!,
    secretKey: env['SCW_SECRET_KEY']!,
    projectId: env['SCW_DEFAULT_PROJECT_ID']!,
    clock: systemClock,
  });
  const tags = ['mailplane-live', RUN];
  const cleanup: (() => Promise<void>)[] = [];

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch((err: unknown) => say(`cleanup failed: ${String(err)}`));
    const left = await compute.listTagged(RUN);
    say(
      `left under tag ${RUN}: ${left.servers.length} servers, ${left.ips.length} IPs, ${left.volumes.length} volumes, ${left.securityGroups.length} security groups`,
    );
    expect(left).toEqual({ servers: [], ips: [], volumes: [], securityGroups: [] });
  });

  it('creates a server with its IPs and security group, sets both PTRs, deletes everything', async () => {
    const v4 = await compute.createIp(zone, 'ipv4', tags);
    cleanup.push(() => compute.deleteIp(zone, v4.id));
    const v6 = await compute.createIp(zone, 'ipv6', tags);
    cleanup.push(() => compute.deleteIp(zone, v6.id));
    say(`reserved ${v4.address} and ${v6.prefix}`);
    const group = await compute.ensureSecurityGroup(zone, { name: RUN, tags, inboundTcpPorts: [22, 25, 80, 443, 465, 587, 993] });
    cleanup.push(() => compute.deleteSecurityGroup(zone, group.id));
    say(`security group ${group.id}: enable_default_security=${group.smtpBlockedByProvider} (true: Scaleway still blocks outbound SMTP on this account)`);
    const server = await compute.createServer({
      zone,
      name: RUN,
      commercialType: env['LIVE_SCW_TYPE'] ?? 'DEV1-S',
      image: env['SCW_IMAGE'] ?? 'debian_bookworm',
      cloudInit: '#cloud-config\n{}\n',
      tags,
      ipIds: [v4.id, v6.id],
      securityGroupId: group.id,
    });
    cleanup.push(() => compute.deleteServer(zone, server.id));
    const held = server.publicIps.find((p) => p.family === 'ipv6')?.address;
    say(`server ${server.id}: public IPs ${server.publicIps.map((p) => p.address).join(', ')}; volumes ${server.volumeIds.join(', ')}`);
    expect(held).toBeTruthy();
    expect(held).not.toBe(v6.address);

    if (dns) {
      const zoneRow = await dns.findZone(ZONE_NAME);
      if (!zoneRow) throw new Error(`LIVE_CLOUDFLARE_ZONE ${ZONE_NAME} is not in the account`);
      const host = `${RUN}.${ZONE_NAME}`;
      const a = await dns.createRecord(zoneRow.id, { type: 'A', name: host, content: v4.address, ttl: 60 });
      cleanup.push(() => dns.deleteRecord(zoneRow.id, a.id));
      const aaaa = await dns.createRecord(zoneRow.id, { type: 'AAAA', name: host, content: held!, ttl: 60 });
      cleanup.push(() => dns.deleteRecord(zoneRow.id, aaaa.id));
      const notYet = (err: unknown) => err instanceof ProviderError && err.code === 'reverse_not_resolving';
      await retryWhile('IPv4 PTR', () => compute.setIpv4Reverse(zone, v4.id, host), notYet, 15 * 60_000);
      await retryWhile('IPv6 PTR', () => compute.setIpv6Reverse(zone, v6.id, held!, host), notYet, 15 * 60_000);
      say(`PTR ${v4.address} and ${held} → ${host}`);
    } else {
      say('no Cloudflare test zone: PTRs skipped (they need a forward record)');
    }
  });
});

describe.skipIf(!cf)('Cloudflare (real)', () => {
  it('writes and deletes a record of each type mailplane publishes in the test zone', async () => {
    const zone = await dns!.findZone(ZONE_NAME);
    if (!zone) throw new Error(`LIVE_CLOUDFLARE_ZONE ${ZONE_NAME} is not in the account`);
    say(`zone ${zone.name} (${zone.id}) is ${zone.status}, nameservers ${zone.nameServers.join(', ')}`);
    const name = (label: string) => `${label}.${RUN}.${ZONE_NAME}`;
    const records: DnsRecordInput[] = [
      { type: 'A', name: name('a'), content: '192.0.2.10' },
      { type: 'AAAA', name: name('aaaa'), content: '2001:db8::10' },
      { type: 'MX', name: name('mx'), content: name('a'), priority: 10 },
      { type: 'TXT', name: name('spf'), content: 'v=spf1 ip4:192.0.2.10 -all' },
      { type: 'TXT', name: name('dkim'), content: `v=DKIM1; k=rsa; p=${randomBytes(270).toString('base64')}` },
      { type: 'CNAME', name: name('cname'), content: name('a') },
      { type: 'TLSA', name: `_25._tcp.${name('a')}`, content: `3 1 1 ${randomBytes(32).toString('hex')}` },
      { type: 'CAA', name: name('caa'), content: '0 issue "letsencrypt.org"' },
      { type: 'SSHFP', name: name('sshfp'), content: `4 2 ${randomBytes(32).toString('hex')}` },
    ];
    for (const record of records) {
      const created = await dns!.createRecord(zone.id, record);
      const listed = await dns!.listRecords(zone.id, { type: record.type, name: record.name });
      say(`${record.type} ${record.name}: created ${created.id}, read back ${JSON.stringify(listed.map((r) => r.content))}`);
      expect(listed.map((r) => r.content)).toContain(created.content);
      await dns!.deleteRecord(zone.id, created.id);
      await dns!.deleteRecord(zone.id, created.id);
    }
    const left = (await dns!.listRecords(zone.id)).filter((r) => r.name.includes(RUN));
    say(`records left under ${RUN}: ${left.length}`);
    expect(left).toEqual([]);
    // Issue 13 item 10: what deleting a zone id that does not exist (well-formed) really answers.
    const answer = await dns!.deleteZone(randomBytes(16).toString('hex')).then(
      () => 'success (404 treated as gone)',
      (err: unknown) => String(err),
    );
    say(`DELETE /zones/<unknown well-formed id>: ${answer}`);
  });
});

describe.skipIf(!stripeKey)('Stripe (real, test mode)', () => {
  it('creates a test-mode checkout session and expires it', async () => {
    if (!env['STRIPE_SECRET_KEY']!.startsWith('sk_test_')) throw new Error('test:live only uses a test-mode key (sk_test_…)');
    const billing = createStripeBilling({
      secretKey: env['STRIPE_SECRET_KEY']!,
      webhookSecret: env['STRIPE_WEBHOOK_SECRET'] ?? 'whsec_unused',
      clock: systemClock,
    });
    const session = await billing.createCheckoutSession({
      priceId: env['LIVE_STRIPE_PRICE']!,
      customerEmail: `${RUN}@example.com`,
      clientReferenceId: RUN,
      metadata: { run: RUN },
      successUrl: 'https://example.com/done',
      cancelUrl: 'https://example.com/cancelled',
      // Stripe Tax off: a test account without Tax activated refuses automatic_tax; the other two need nothing.
      tax: { automaticTax: false, taxIdCollection: true, billingAddressCollection: 'required' },
    });
    say(`checkout session ${session.id}: ${session.url}`);
    expect(session.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
    await billing.expireCheckoutSession(session.id);
    await billing.expireCheckoutSession(session.id);
    say(`expired ${session.id} (and expiring it again was accepted as done)`);
  });
});

if (!scw && !cf && !stripeKey) say('no provider credentials in the environment (or CI is set): every live test is skipped');
