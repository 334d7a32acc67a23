/**
 * The Scaleway adapter through the official SDK, over HTTP, against the
 * emulator on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.ts';
import { ProviderError } from '../../../src/errors.ts';
import type { ComputeProvider, Zone } from '../../../src/providers/compute/interface.ts';
import { createScalewayCompute } from '../../../src/providers/compute/scaleway.ts';
import { ScalewayEmulator } from '../../../src/sandbox/scaleway/emulator.ts';

const ZONE: Zone = 'fr-par-1';
const PROJECT = '00000000-0000-4000-8000-000000000001';
const CREDENTIALS = { accessKey: 'SCWSANDBOX0000000000', secretKey: '00000000-0000-4000-8000-000000000000', projectId: PROJECT };

/** Virtual time: each sleep advances the clock and yields one macrotask, so emulator timers can fire. */
function fastClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

let emulator: ScalewayEmulator;
let compute: ComputeProvider;
let tagSeq = 0;
const uniqueTag = (what: string) => `test:${what}:${++tagSeq}`;

beforeAll(async () => {
  emulator = new ScalewayEmulator();
  await emulator.start();
  compute = createScalewayCompute({ ...CREDENTIALS, apiUrl: emulator.url, clock: fastClock(), pageSize: 5 });
});

afterAll(async () => {
  await emulator.stop();
});

async function rawJson(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${emulator.url}${path}`, { headers: { 'X-Auth-Token': 'x' } });
  return (await res.json()) as Record<string, unknown>;
}

async function newServer(tags: string[], ipIds: string[] = []) {
  return compute.createServer({
    zone: ZONE,
    name: `mx-${tagSeq}`,
    commercialType: 'DEV1-S',
    image: 'debian_bookworm',
    cloudInit: '#cloud-config\nssh_keys: {}\n',
    tags,
    ipIds,
  });
}

describe('scaleway compute adapter', () => {
  it('reserves a routed IPv4 from a documentation range', async () => {
    const tag = uniqueTag('v4');
    const ip = await compute.createIp(ZONE, 'ipv4', [tag]);
    expect(ip.family).toBe('ipv4');
    expect(ip.address).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/);
    expect(ip.prefix).toBeNull();
    expect(ip.tags).toEqual([tag]);
    expect(ip.serverId).toBeNull();
  });

  it('reserves a routed IPv6 /64 and uses its first address', async () => {
    const ip = await compute.createIp(ZONE, 'ipv6', [uniqueTag('v6')]);
    expect(ip.family).toBe('ipv6');
    expect(ip.prefix).toMatch(/^2001:db8:[0-9a-f]+:[0-9a-f]+::\/64$/);
    expect(ip.address).toBe(ip.prefix!.replace('::/64', '::1'));
  });

  it('never hands out the same address twice, even after a release', async () => {
    const first = await compute.createIp(ZONE, 'ipv4', []);
    await compute.deleteIp(ZONE, first.id);
    const second = await compute.createIp(ZONE, 'ipv4', []);
    expect(second.address).not.toBe(first.address);
  });

  it('creates a server stopped, with its IPs, tags and cloud-init set before any power-on', async () => {
    const tag = uniqueTag('server');
    const v4 = await compute.createIp(ZONE, 'ipv4', [tag]);
    const v6 = await compute.createIp(ZONE, 'ipv6', [tag]);
    const server = await newServer([tag], [v4.id, v6.id]);
    expect(server.state).toBe('stopped');
    expect(server.tags).toEqual([tag]);
    expect(server.ipIds.sort()).toEqual([v4.id, v6.id].sort());
    expect(emulator.userData(server.id)).toBe('#cloud-config\nssh_keys: {}\n');
    expect(emulator.listServers().find((s) => s.id === server.id)?.state).toBe('stopped');
    expect((await compute.getIp(ZONE, v4.id))?.serverId).toBe(server.id);
    expect(emulator.serverByIpv4(v4.address)?.id).toBe(server.id);
  });

  it('powers on and waits until running; the server booted with its cloud-init', async () => {
    const server = await newServer([uniqueTag('boot')]);
    await compute.powerOn(ZONE, server.id);
    const running = await compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 60_000, intervalMs: 1_000 });
    expect(running.state).toBe('running');
    expect(emulator.userDataAtFirstBoot(server.id)).toBe('#cloud-config\nssh_keys: {}\n');
    await compute.powerOn(ZONE, server.id); // repeating is harmless
  });

  it('gives up waiting with a retryable timeout when the state never comes', async () => {
    const server = await newServer([uniqueTag('never')]);
    const err = await compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 5_000, intervalMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(true);
    expect((err as ProviderError).detail).toContain('last seen: stopped');
  });

  it('clears the cloud-init user data, and clearing twice is fine', async () => {
    const server = await newServer([uniqueTag('clear')]);
    await compute.clearUserData(ZONE, server.id);
    expect(emulator.userData(server.id)).toBeNull();
    await expect(compute.clearUserData(ZONE, server.id)).resolves.toBeUndefined();
  });

  it('attaches and detaches a flexible IP', async () => {
    const server = await newServer([uniqueTag('attach')]);
    const ip = await compute.createIp(ZONE, 'ipv4', []);
    await compute.attachIp(ZONE, ip.id, server.id);
    expect((await compute.getServer(ZONE, server.id))?.ipIds).toEqual([ip.id]);
    await compute.detachIp(ZONE, ip.id);
    expect((await compute.getIp(ZONE, ip.id))?.serverId).toBeNull();
    expect((await compute.getServer(ZONE, server.id))?.ipIds).toEqual([]);
  });

  it('sets the IPv4 reverse through the Instance API', async () => {
    const ip = await compute.createIp(ZONE, 'ipv4', []);
    await compute.setIpv4Reverse(ZONE, ip.id, 'mail.example.com');
    expect((await compute.getIp(ZONE, ip.id))?.reverse).toBe('mail.example.com');
    expect(emulator.reverseOf(ip.address)).toBe('mail.example.com');
  });

  it("sets only our IPv6 reverse through IPAM: Scaleway's default reverses are replaced, not sent back", async () => {
    const ip = await compute.createIp(ZONE, 'ipv6', []);
    const server = await newServer([uniqueTag('ptr6')], [ip.id]);
    const slaac = server.publicIps.find((p) => p.family === 'ipv6')!.address;
    const before = await rawJson(`/ipam/v1/regions/fr-par/ips/${ip.id}`);
    // Attaching gave the entry Scaleway's own names (recorded: *.rev.scw.cloud and *.instances.scw.cloud).
    expect((before['reverses'] as { hostname: string }[]).map((r) => r.hostname).every((h) => h.endsWith('.scw.cloud.'))).toBe(true);
    await compute.setIpv6Reverse(ZONE, ip.id, slaac, 'mail.example.com');
    await compute.setIpv6Reverse(ZONE, ip.id, slaac, 'mx.example.com');
    const after = await rawJson(`/ipam/v1/regions/fr-par/ips/${ip.id}`);
    expect(after['reverses']).toEqual([{ hostname: 'mx.example.com', address: slaac }]);
    expect(emulator.reverseOf(slaac)).toBe('mx.example.com');
  });

  it('answers a reverse whose forward record does not resolve yet with a retryable error, then accepts it', async () => {
    let visible = false;
    emulator.setForwardCheck(() => visible);
    try {
      const v4 = await compute.createIp(ZONE, 'ipv4', []);
      const v6 = await compute.createIp(ZONE, 'ipv6', []);
      const server = await newServer([uniqueTag('fcrdns')], [v4.id, v6.id]);
      const slaac = server.publicIps.find((p) => p.family === 'ipv6')!.address;
      for (const attempt of [compute.setIpv4Reverse(ZONE, v4.id, 'mail.pending.example'), compute.setIpv6Reverse(ZONE, v6.id, slaac, 'mail.pending.example')]) {
        const err = await attempt.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).retryable).toBe(true);
        expect((err as ProviderError).code).toBe('reverse_not_resolving');
        expect((err as ProviderError).detail).toContain('Your reverse must resolve');
      }
      visible = true;
      await compute.setIpv4Reverse(ZONE, v4.id, 'mail.pending.example');
      await compute.setIpv6Reverse(ZONE, v6.id, slaac, 'mail.pending.example');
      expect(emulator.reverseOf(v4.address)).toBe('mail.pending.example');
      expect(emulator.reverseOf(slaac)).toBe('mail.pending.example');
    } finally {
      emulator.setForwardCheck(undefined);
    }
  });

  it('reports the SLAAC address an instance holds in its routed /64, not prefix::1 (recorded shapes)', async () => {
    const v4 = await compute.createIp(ZONE, 'ipv4', []);
    const v6 = await compute.createIp(ZONE, 'ipv6', []);
    // Recorded: a routed IPv6 has address null and a prefix; an IPv4 has prefix null; ipam_id is the IP's id.
    const raw6 = (await rawJson(`/instance/v1/zones/${ZONE}/ips/${v6.id}`))['ip'] as Record<string, unknown>;
    const raw4 = (await rawJson(`/instance/v1/zones/${ZONE}/ips/${v4.id}`))['ip'] as Record<string, unknown>;
    expect(raw6).toMatchObject({ address: null, prefix: v6.prefix, ipam_id: v6.id });
    expect(raw4).toMatchObject({ address: v4.address, prefix: null, ipam_id: v4.id });
    const server = await newServer([uniqueTag('slaac')], [v4.id, v6.id]);
    const held = server.publicIps.find((p) => p.family === 'ipv6')!.address;
    expect(held).not.toBe(v6.address);
    expect(held).toMatch(/^2001:db8:[0-9a-f:]+:fe[0-9a-f]{2}:[0-9a-f]+$/); // modified EUI-64: ff:fe in the middle
    expect(held.startsWith(v6.prefix!.replace('::/64', ':'))).toBe(true);
    expect(emulator.hostIpv6(server.id)).toBe(held);
    expect(server.publicIps.find((p) => p.family === 'ipv4')?.address).toBe(v4.address);
  });

  it('refuses an IPv6 reverse for an address outside the prefix, not retryable', async () => {
    const ip = await compute.createIp(ZONE, 'ipv6', []);
    const err = await compute.setIpv6Reverse(ZONE, ip.id, '2001:db8:ffff:ffff::1', 'x.example.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(false);
  });

  it('finds everything carrying a tag across pages and zones', async () => {
    const tag = uniqueTag('many');
    // Page size is 5: 12 IPs and 7 servers need several pages each.
    const ips = await Promise.all(Array.from({ length: 12 }, () => compute.createIp(ZONE, 'ipv4', [tag])));
    const servers = await Promise.all(Array.from({ length: 7 }, () => newServer([tag])));
    const elsewhere = await compute.createIp('nl-ams-1', 'ipv6', [tag]);
    const orphan = emulator.createOrphanServer('pl-waw-2', [tag]);
    await compute.createIp(ZONE, 'ipv4', ['unrelated']);

    expect((await compute.findIpsByTag(ZONE, tag)).map((i) => i.id).sort()).toEqual(ips.map((i) => i.id).sort());
    expect((await compute.findServersByTag(ZONE, tag)).map((s) => s.id).sort()).toEqual(servers.map((s) => s.id).sort());

    const all = await compute.listTagged(tag);
    expect(all.ips.map((i) => i.id).sort()).toEqual([...ips.map((i) => i.id), elsewhere.id].sort());
    expect(all.servers.map((s) => s.id).sort()).toEqual([...servers.map((s) => s.id), orphan.id].sort());
    expect(all.ips.find((i) => i.id === elsewhere.id)?.zone).toBe('nl-ams-1');
  });

  it('answers null for a server or IP that does not exist', async () => {
    expect(await compute.getServer(ZONE, '6a0c3d4e-0000-4000-8000-000000000000')).toBeNull();
    expect(await compute.getIp(ZONE, '6a0c3d4e-0000-4000-8000-000000000000')).toBeNull();
  });

  it('deletes an IP, and deleting it again succeeds', async () => {
    const ip = await compute.createIp(ZONE, 'ipv6', []);
    await compute.deleteIp(ZONE, ip.id);
    await compute.deleteIp(ZONE, ip.id);
    expect(await compute.getIp(ZONE, ip.id)).toBeNull();
  });

  it('deletes a stopped server with its Block Storage boot volume, keeps its IPs detached, and a second delete succeeds', async () => {
    const ip = await compute.createIp(ZONE, 'ipv4', []);
    const server = await newServer([uniqueTag('del')], [ip.id]);
    const volumes = emulator.listVolumes().filter((v) => v.serverId === server.id);
    expect(volumes.map((v) => v.type)).toEqual(['sbs_volume']);
    expect(server.volumeIds).toEqual(volumes.map((v) => v.id));
    await compute.deleteServer(ZONE, server.id);
    expect(emulator.listVolumes().filter((v) => v.id === volumes[0]!.id)).toEqual([]);
    await compute.deleteServer(ZONE, server.id);
    expect(await compute.getServer(ZONE, server.id)).toBeNull();
    expect((await compute.getIp(ZONE, ip.id))?.serverId).toBeNull();
    const state = (await (await fetch(`${emulator.url}/__sandbox/state`)).json()) as { servers: { id: string }[] };
    expect(state.servers.some((s) => s.id === server.id)).toBe(false);
  });

  it('terminates a running server and deletes the Block Storage volume terminate leaves behind', async () => {
    const tag = uniqueTag('term');
    const server = await newServer([tag]);
    await compute.powerOn(ZONE, server.id);
    await compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 60_000, intervalMs: 1_000 });
    const [volume] = emulator.listVolumes().filter((v) => v.serverId === server.id);
    expect(volume?.tags).toContain(tag);
    await compute.deleteServer(ZONE, server.id);
    expect(await compute.getServer(ZONE, server.id)).toBeNull();
    expect(emulator.listVolumes().some((v) => v.id === volume!.id)).toBe(false);
    await compute.deleteServer(ZONE, server.id);
  });

  it('removes the boot volume on a retry, after the instance is already gone', async () => {
    const tag = uniqueTag('retry');
    const server = await newServer([tag]);
    const [volume] = emulator.listVolumes().filter((v) => v.serverId === server.id);
    // The Block API DELETE meets 503s (as a real outage would) after the instance is gone, on
    // the first try and on the adapter's one quick retry.
    let failures = 0;
    const flaky: typeof fetch = async (input, init) => {
      // The SDK hands its HTTP client a Request (from its own realm: duck-typed here).
      const req = typeof input === 'object' && 'method' in input ? input : null;
      const method = init?.method ?? req?.method ?? 'GET';
      if (failures < 2 && method === 'DELETE' && (req?.url ?? String(input)).includes('/block/v1/')) {
        failures += 1;
        return new Response(JSON.stringify({ message: 'internal error', type: 'internal_error' }), { status: 503 });
      }
      return fetch(input, init);
    };
    const flakyCompute = createScalewayCompute({ ...CREDENTIALS, apiUrl: emulator.url, clock: fastClock(), fetch: flaky });
    await expect(flakyCompute.deleteServer(ZONE, server.id)).rejects.toBeInstanceOf(ProviderError);
    expect(await compute.getServer(ZONE, server.id)).toBeNull();
    expect(emulator.listVolumes().some((v) => v.id === volume!.id)).toBe(true);
    await compute.deleteServer(ZONE, server.id);
    expect(emulator.listVolumes().some((v) => v.id === volume!.id)).toBe(false);
    expect((await compute.listTagged(tag)).volumes).toEqual([]);
  });

  it('terminates a server stopped in place directly, never powering it on (recorded allowed_actions)', async () => {
    const server = await newServer([uniqueTag('sip')]);
    await compute.powerOn(ZONE, server.id);
    await compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 60_000, intervalMs: 1_000 });
    emulator.stopInPlace(server.id);
    expect((await compute.waitForState(ZONE, server.id, 'stopped_in_place', { timeoutMs: 60_000, intervalMs: 1_000 })).state).toBe('stopped_in_place');
    const raw = (await rawJson(`/instance/v1/zones/${ZONE}/servers/${server.id}`))['server'] as { allowed_actions: string[] };
    expect(raw.allowed_actions).toEqual(['poweron', 'poweroff', 'terminate', 'reboot', 'backup']);
    // The API refuses DELETE in this state, as the real one does.
    const refused = await fetch(`${emulator.url}/instance/v1/zones/${ZONE}/servers/${server.id}`, { method: 'DELETE', headers: { 'X-Auth-Token': 'x' } });
    expect(refused.status).toBe(400);
    const actions: string[] = [];
    const watched = createScalewayCompute({
      ...CREDENTIALS,
      apiUrl: emulator.url,
      clock: fastClock(),
      fetch: async (input, init) => {
        const request = new Request(input, init);
        if (request.url.endsWith('/action')) actions.push(((await request.clone().json()) as { action: string }).action);
        return fetch(request);
      },
    });
    await watched.deleteServer(ZONE, server.id);
    expect(actions).toEqual(['terminate']);
    expect(await compute.getServer(ZONE, server.id)).toBeNull();
    expect(emulator.listVolumes().some((v) => v.serverId === server.id)).toBe(false);
  });

  it('gives a server its own security group with exactly the inbound ports it serves; SMTP is blocked per group, lifted only when asked once the account is allowed', async () => {
    const tag = uniqueTag('sg');
    emulator.setSmtpBlocked(true);
    try {
      const group = await compute.ensureSecurityGroup(ZONE, { name: 'mx-sg', tags: ['mailplane', tag], inboundTcpPorts: [22, 25, 443] });
      // enable_default_security is read-only: asking for false changes nothing while the account is blocked.
      expect(group.smtpBlockedByProvider).toBe(true);
      const again = await compute.ensureSecurityGroup(ZONE, { name: 'mx-sg', tags: ['mailplane', tag], inboundTcpPorts: [22, 25, 443] });
      expect(again.id).toBe(group.id);
      const server = await compute.createServer({
        zone: ZONE,
        name: 'mx-sg',
        commercialType: 'DEV1-S',
        image: 'debian_bookworm',
        cloudInit: '#cloud-config\n',
        tags: [tag],
        ipIds: [],
        securityGroupId: group.id,
      });
      const seen = emulator.listSecurityGroups().find((g) => g.id === group.id)!;
      expect(seen.servers).toEqual([server.id]);
      expect([...new Set(seen.inboundPorts)].sort((a, b) => a - b)).toEqual([22, 25, 443]);
      expect(emulator.outboundSmtpOpen(server.id)).toBe(false);
      await expect(compute.deleteSecurityGroup(ZONE, group.id)).rejects.toMatchObject({ retryable: true });
      // Asking again while the account is blocked changes nothing either.
      expect((await compute.requestOutboundSmtp(ZONE, group.id)).smtpBlockedByProvider).toBe(true);
      // Scaleway enables SMTP on the account: a group created before stays blocked until it is asked again.
      emulator.setSmtpBlocked(false);
      expect(emulator.outboundSmtpOpen(server.id)).toBe(false);
      expect((await compute.findSecurityGroupsByTag(ZONE, tag))[0]?.smtpBlockedByProvider).toBe(true);
      expect((await compute.getServer(ZONE, server.id))?.securityGroupId).toBe(group.id);
      expect((await compute.requestOutboundSmtp(ZONE, group.id)).smtpBlockedByProvider).toBe(false);
      expect(emulator.outboundSmtpOpen(server.id)).toBe(true);
      expect((await compute.findSecurityGroupsByTag(ZONE, tag))[0]?.smtpBlockedByProvider).toBe(false);
      // ensureSecurityGroup on a group still blocked asks again too (a re-run create_server).
      const tag2 = uniqueTag('sg-old');
      emulator.setSmtpBlocked(true);
      const old = await compute.ensureSecurityGroup(ZONE, { name: 'mx-sg-old', tags: ['mailplane', tag2], inboundTcpPorts: [25] });
      emulator.setSmtpBlocked(false);
      expect((await compute.ensureSecurityGroup(ZONE, { name: 'mx-sg-old', tags: ['mailplane', tag2], inboundTcpPorts: [25] })).smtpBlockedByProvider).toBe(
        false,
      );
      await compute.deleteSecurityGroup(ZONE, old.id);
      await compute.deleteServer(ZONE, server.id);
      await compute.deleteSecurityGroup(ZONE, group.id);
      await compute.deleteSecurityGroup(ZONE, group.id);
      expect(await compute.findSecurityGroupsByTag(ZONE, tag)).toEqual([]);
    } finally {
      emulator.setSmtpBlocked(false);
    }
  });

  it('lists what each zone sells as recorded (no DEV1 in fr-par-3, nl-ams-3, pl-waw-3) and refuses a type the zone does not sell', async () => {
    const headers = { 'X-Auth-Token': 'x' };
    const page1 = await fetch(`${emulator.url}/instance/v1/zones/fr-par-3/products/servers?per_page=2&page=1`, { headers });
    expect(page1.headers.get('x-total-count')).toBe('3');
    expect(Object.keys(((await page1.json()) as { servers: object }).servers)).toHaveLength(2);
    for (const zone of ['fr-par-3', 'nl-ams-3', 'pl-waw-3'] as const) {
      expect((await compute.serverTypes(zone)).some((t) => t.commercialType.startsWith('DEV1'))).toBe(false);
    }
    expect(await compute.serverTypes('fr-par-1')).toEqual(expect.arrayContaining([{ commercialType: 'DEV1-S', availability: 'available' }]));
    const refused = await fetch(`${emulator.url}/instance/v1/zones/fr-par-3/servers`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mx', project: PROJECT, commercial_type: 'DEV1-S', image: 'debian_bookworm', dynamic_ip_required: false }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      type: 'invalid_arguments',
      message: 'invalid argument(s)',
      details: [{ argument_name: 'commercial_type', reason: 'constraint', help_message: 'DEV1-S is not available in zone fr-par-3' }],
    });
    await expect(
      compute.createServer({
        zone: 'fr-par-3',
        name: 'mx',
        commercialType: 'DEV1-S',
        image: 'debian_bookworm',
        cloudInit: '',
        tags: [uniqueTag('par3')],
        ipIds: [],
      }),
    ).rejects.toMatchObject({ retryable: false, providerStatus: 400 });
    expect(emulator.listServers().some((s) => s.zone === 'fr-par-3')).toBe(false);
  });

  it("keeps a zone's catalogue for its TTL, reads it again after, and answers from the stale copy when Scaleway fails", async () => {
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const cached = createScalewayCompute({ ...CREDENTIALS, apiUrl: emulator.url, clock, catalogueTtlMs: 60_000 });
    const stock = async () => (await cached.serverTypes('pl-waw-1')).find((t) => t.commercialType === 'DEV1-M')?.availability;
    expect(await stock()).toBe('available');
    emulator.catalogue.setAvailability('pl-waw-1', 'DEV1-M', 'shortage');
    try {
      expect(await stock()).toBe('available');
      now += 60_000;
      expect(await stock()).toBe('shortage');
      now += 60_000;
      emulator.faults.set({ errorRate: 1 });
      expect(await stock()).toBe('shortage');
      await expect(cached.serverTypes('pl-waw-2')).rejects.toMatchObject({ retryable: true });
    } finally {
      emulator.faults.set({});
      emulator.catalogue.setAvailability('pl-waw-1', 'DEV1-M', 'available');
    }
  });

  it('asks for a boot volume of the size given, and the emulator refuses the sizes Scaleway refuses', async () => {
    const server = await compute.createServer({
      zone: ZONE,
      name: 'mx-disk',
      commercialType: 'DEV1-S',
      image: 'debian_bookworm',
      cloudInit: '#cloud-config\n',
      tags: [uniqueTag('disk')],
      ipIds: [],
      rootVolumeBytes: 30_000_000_000,
    });
    const [volumeId] = server.volumeIds;
    expect(emulator.listVolumes().find((v) => v.id === volumeId)).toMatchObject({ type: 'sbs_volume', sizeBytes: 30_000_000_000 });
    expect(((await rawJson(`/block/v1/zones/${ZONE}/volumes/${volumeId}`)) as { size: number }).size).toBe(30_000_000_000);
    const create = (volumes: unknown, type = 'DEV1-S') =>
      fetch(`${emulator.url}/instance/v1/zones/${ZONE}/servers`, {
        method: 'POST',
        headers: { 'X-Auth-Token': 'x', 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'mx', project: PROJECT, commercial_type: type, image: 'debian_bookworm', dynamic_ip_required: false, volumes }),
      });
    const argumentOf = async (res: Response) => {
      expect(res.status).toBe(400);
      return ((await res.json()) as { type: string; details: { argument_name: string }[] }).details[0]!.argument_name;
    };
    expect(await argumentOf(await create({ 0: { size: 5_000_000_000, volume_type: 'sbs_volume' } }))).toBe('volumes.0.size');
    expect(await argumentOf(await create({ 0: { size: 20_000_000_000_000, volume_type: 'sbs_volume' } }))).toBe('volumes.0.size');
    expect(await argumentOf(await create({ 0: { size: 20_000_000_000, volume_type: 'b_ssd' } }))).toBe('volumes.0.volume_type');
    expect(await argumentOf(await create({ 0: { size: 30_000_000_000, volume_type: 'l_ssd' } }))).toBe('volumes');
    expect(await argumentOf(await create({ 0: { size: 20_000_000_000, volume_type: 'l_ssd' } }, 'PLAY2-PICO'))).toBe('volumes.0.volume_type');
    await compute.deleteServer(ZONE, server.id);
  });

  it('pages Instance lists with per_page and an X-Total-Count header, IPAM lists with total_count', async () => {
    const tag = uniqueTag('wire');
    await Promise.all(Array.from({ length: 3 }, () => compute.createIp(ZONE, 'ipv4', [tag])));
    const headers = { 'X-Auth-Token': CREDENTIALS.secretKey };
    const res = await fetch(`${emulator.url}/instance/v1/zones/${ZONE}/ips?tags=${encodeURIComponent(tag)}&per_page=2&page=2`, { headers });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-total-count')).toBe('3');
    expect(((await res.json()) as { ips: unknown[] }).ips).toHaveLength(1);
    const ipam = await fetch(`${emulator.url}/ipam/v1/regions/fr-par/ips?page_size=1`, { headers });
    const body = (await ipam.json()) as { total_count: number; ips: unknown[] };
    expect(body.ips).toHaveLength(1);
    expect(body.total_count).toBeGreaterThan(1);
  });

  it("answers an unknown server with Scaleway's not_found body", async () => {
    const res = await fetch(`${emulator.url}/instance/v1/zones/${ZONE}/servers/nope`, { headers: { 'X-Auth-Token': 'x' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'resource is not found', type: 'not_found', resource: 'instance_server', resource_id: 'nope' });
  });

  it('rejects calls without an auth token like the real API', async () => {
    const res = await fetch(`${emulator.url}/instance/v1/zones/${ZONE}/servers`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(((await res.json()) as { type: string }).type).toBe('denied_authentication');
  });

  it('maps an injected 503 to a retryable ProviderError and a 429 to one with Retry-After', async () => {
    try {
      emulator.faults.set({ errorRate: 1 });
      const err = await compute.getServer(ZONE, 'whatever').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).retryable).toBe(true);
      emulator.faults.set({ rateLimitRate: 1, retryAfterSeconds: 7 });
      const limited = await compute.findIpsByTag(ZONE, 'x').catch((e: unknown) => e);
      expect((limited as ProviderError).providerStatus).toBe(429);
      expect((limited as ProviderError).retryAfterMs).toBe(7_000);
    } finally {
      emulator.faults.set({});
    }
  });
});
