/**
 * The Cloudflare behaviour a first real customer meets, through the official
 * SDK against the emulator: the record scan of a domain's DNS before the move
 * (common names only), the account's cap on pending zones, and DNSSEC pending
 * until the DS is at the registrar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.ts';
import { createCloudflareDns } from '../../../src/providers/dns/cloudflare.ts';
import { CloudflareEmulator } from '../../../src/sandbox/cloudflare/emulator.ts';

const emulator = new CloudflareEmulator({ zoneActivation: 'manual', pendingZoneLimit: 2, dnssecDelayMs: 3_600_000 });
const dns = () => createCloudflareDns({ apiToken: 't', accountId: 'acc', apiUrl: emulator.url, maxRetries: 0 });
beforeAll(() => emulator.start());
afterAll(() => emulator.stop());

describe('Cloudflare scan, pending-zone cap and DNSSEC', () => {
  it("scans the domain's current DNS at the common names, and adds to the zone only what is accepted", async () => {
    emulator.setPublicDns('scan.example', [
      { type: 'A', name: 'scan.example', content: '198.51.100.1' },
      { type: 'A', name: 'www.scan.example', content: '198.51.100.1' },
      { type: 'TXT', name: 'scan.example', content: 'v=spf1 include:x.example ~all' },
      { type: 'MX', name: 'scan.example', content: 'mx.old.example', priority: 5 },
      { type: 'CNAME', name: 'crm.scan.example', content: 'tenant.crm.example' },
    ]);
    const zone = await dns().ensureZone('scan.example');
    // Pending: public resolvers still reach the old DNS host.
    expect(emulator.answers('www.scan.example', 'A')).toEqual(['198.51.100.1']);
    const found = await dns().scanExistingRecords(zone.id);
    expect(found.map((r) => `${r.type} ${r.name} ${r.content}${r.priority !== undefined ? ` ${r.priority}` : ''}`).sort()).toEqual([
      'A scan.example 198.51.100.1',
      'A www.scan.example 198.51.100.1',
      'MX scan.example mx.old.example 5',
      'TXT scan.example v=spf1 include:x.example ~all',
    ]);
    expect(emulator.records(zone.id)).toEqual([]);
    const spf = found.find((r) => r.type === 'TXT')!;
    const mx = found.find((r) => r.type === 'MX')!;
    const created = await dns().reviewScannedRecords(
      zone.id,
      found.filter((r) => r !== spf && r !== mx).map(({ id: _id, ...r }) => r),
      [spf.id, mx.id],
    );
    expect(created.map((r) => r.name).sort()).toEqual(['scan.example', 'www.scan.example']);
    expect(
      emulator
        .records(zone.id)
        .map((r) => `${r.type} ${r.name}`)
        .sort(),
    ).toEqual(['A scan.example', 'A www.scan.example']);
    // What is in the zone is not found again; rejected records are (mailplane remembers its own decisions).
    expect((await dns().scanExistingRecords(zone.id)).map((r) => r.type).sort()).toEqual(['MX', 'TXT']);
    emulator.activateZone('scan.example');
    expect(emulator.answers('www.scan.example', 'A')).toEqual(['198.51.100.1']);
    expect(emulator.answers('crm.scan.example', 'CNAME')).toEqual([]);
  });

  it('refuses a new zone past the pending-zone cap with code 1118, which the adapter reports as zone_pending_limit', async () => {
    await dns().ensureZone('cap-a.example');
    await dns().ensureZone('cap-b.example');
    const raw = await fetch(`${emulator.url}/client/v4/zones`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cap-c.example', account: { id: 'acc' } }),
    });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { success: boolean; errors: Array<{ code: number; message: string }>; result: unknown };
    expect(body).toMatchObject({ success: false, result: null, errors: [{ code: 1118, message: expect.stringContaining('limit of pending zones') }] });
    const err = await dns()
      .ensureZone('cap-c.example')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'zone_pending_limit', retryable: false, providerStatus: 400 });
    // A zone whose nameservers moved frees its place.
    emulator.activateZone('cap-a.example');
    await expect(dns().ensureZone('cap-c.example')).resolves.toMatchObject({ name: 'cap-c.example', status: 'pending' });
  });

  it('keeps DNSSEC pending until the DS is at the registrar and Cloudflare has seen it', async () => {
    emulator.activateZone('cap-b.example');
    const zone = (await dns().findZone('cap-b.example'))!;
    const enabled = await dns().enableDnssec(zone.id);
    expect(enabled).toMatchObject({ state: 'pending', key: { flags: 257, algorithm: '13', digestType: '2' } });
    expect(enabled.ds).toContain(`IN DS ${enabled.key!.keyTag} 13 2 ${enabled.key!.digest}`);
    // The DS added, but Cloudflare has not looked at the parent again yet (the delay): still pending.
    emulator.addDsAtRegistrar('cap-b.example');
    expect((await dns().getDnssec(zone.id)).state).toBe('pending');
    emulator.setDnssecActivation('pending', 0);
    expect(await dns().getDnssec(zone.id)).toEqual({ ...enabled, state: 'active' });
  });
});
