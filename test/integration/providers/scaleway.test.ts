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

async function newServer(tags: string[], ipIds: string[] = []) {
  return compute.createServer({
    zone: ZONE, name: `mx-${tagSeq}`, commercialType: 'DEV1-S', image: 'debian_bookworm',
    cloudInit: '#cloud-config\nssh_keys: {}\n', tags, ipIds,
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

  it('sets IPv6 reverses through IPAM, keeping the other addresses of the prefix', async () => {
    const ip = await compute.createIp(ZONE, 'ipv6', []);
    const other = ip.address.replace(/::1$/, '::2');
    await compute.setIpv6Reverse(ZONE, ip.id, other, 'other.example.com');
    await compute.setIpv6Reverse(ZONE, ip.id, ip.address, 'mail.example.com');
    await compute.setIpv6Reverse(ZONE, ip.id, ip.address, 'mx.example.com');
    expect(emulator.reverseOf(ip.address)).toBe('mx.example.com');
    expect(emulator.reverseOf(other)).toBe('other.example.com');
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

  it('deletes a stopped server with its volume, keeps its IPs detached, and a second delete succeeds', async () => {
    const ip = await compute.createIp(ZONE, 'ipv4', []);
    const server = await newServer([uniqueTag('del')], [ip.id]);
    const volumes = emulator.listVolumes().filter((v) => v.serverId === server.id).map((v) => v.id);
    expect(volumes).toHaveLength(1);
    await compute.deleteServer(ZONE, server.id);
    expect(emulator.listVolumes().filter((v) => volumes.includes(v.id))).toEqual([]);
    await compute.deleteServer(ZONE, server.id);
    expect(await compute.getServer(ZONE, server.id)).toBeNull();
    expect((await compute.getIp(ZONE, ip.id))?.serverId).toBeNull();
    const state = (await (await fetch(`${emulator.url}/__sandbox/state`)).json()) as { servers: { id: string }[] };
    expect(state.servers.some((s) => s.id === server.id)).toBe(false);
  });

  it('terminates a running server', async () => {
    const server = await newServer([uniqueTag('term')]);
    await compute.powerOn(ZONE, server.id);
    await compute.waitForState(ZONE, server.id, 'running', { timeoutMs: 60_000, intervalMs: 1_000 });
    await compute.deleteServer(ZONE, server.id);
    const clock = fastClock();
    while ((await compute.getServer(ZONE, server.id)) !== null) await clock.sleep(1);
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

  it('answers an unknown server with Scaleway\'s not_found body', async () => {
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
