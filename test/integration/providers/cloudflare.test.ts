/**
 * The Cloudflare adapter through the official SDK, over HTTP, against the
 * emulator on 127.0.0.1.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.ts';
import { createCloudflareDns } from '../../../src/providers/dns/cloudflare.ts';
import type { DnsProvider } from '../../../src/providers/dns/interface.ts';
import { CloudflareEmulator } from '../../../src/sandbox/cloudflare/emulator.ts';

const TOKEN = 'test-token';
const ACCOUNT = 'acc-1';

function dkimValue(): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
}

describe('Cloudflare DNS adapter against the emulator', () => {
  const emulator = new CloudflareEmulator({ dnssecActivation: 'immediate', apiToken: TOKEN });
  let dns: DnsProvider;
  let requests: string[] = [];

  beforeAll(async () => {
    await emulator.start();
    const countingFetch: typeof fetch = (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${String(input)}`);
      return fetch(input, init);
    };
    dns = createCloudflareDns({ apiToken: TOKEN, accountId: ACCOUNT, apiUrl: emulator.url, fetch: countingFetch, maxRetries: 0 });
  });
  afterAll(() => emulator.stop());

  it('ensureZone creates the zone once and finds it the second time', async () => {
    const first = await dns.ensureZone('idempotent.example');
    const second = await dns.ensureZone('Idempotent.Example.');
    expect(second.id).toBe(first.id);
    // The emulator's default: nameservers already delegated (the sandbox's `npm start`).
    expect(first.status).toBe('active');
    expect(first.nameServers).toHaveLength(2);
    expect(first.nameServers[0]).not.toBe(first.nameServers[1]);
    expect(emulator.zones().filter((z) => z.name === 'idempotent.example')).toHaveLength(1);
    expect(await dns.findZone('absent.example')).toBeNull();
  });

  it('round-trips a DKIM RSA-2048 TXT value intact, stored as quoted 255-byte strings', async () => {
    const zone = await dns.ensureZone('dkim.example');
    const value = dkimValue();
    expect(value.length).toBeGreaterThan(400);
    const { action } = await dns.upsertRecord(zone.id, { type: 'TXT', name: 'mail._domainkey.dkim.example', content: value });
    expect(action).toBe('created');

    const [read] = await dns.listRecords(zone.id, { type: 'TXT', name: 'mail._domainkey.dkim.example' });
    expect(read?.content).toBe(value);
    const stored = emulator.records(zone.id)[0]!.content;
    const pieces = [...stored.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(pieces.length).toBe(Math.ceil(value.length / 255));
    expect(pieces.every((p) => p.length <= 255)).toBe(true);
    expect(emulator.answers('mail._domainkey.dkim.example', 'TXT')).toEqual([value]);

    const again = await dns.upsertRecord(zone.id, { type: 'TXT', name: 'mail._domainkey.dkim.example', content: value });
    expect(again.action).toBe('unchanged');
  });

  it('escapes quotes and backslashes in TXT values', async () => {
    const zone = await dns.ensureZone('escape.example');
    const value = 'say "hi" \\ bye';
    await dns.createRecord(zone.id, { type: 'TXT', name: 'escape.example', content: value });
    expect((await dns.listRecords(zone.id))[0]?.content).toBe(value);
  });

  it('listRecords returns every record of a 250-record zone across pages', async () => {
    const zone = await dns.ensureZone('big.example');
    for (let batch = 0; batch < 250; batch += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          dns.createRecord(zone.id, { type: 'A', name: `h${batch + i}.big.example`, content: `192.0.2.${(batch + i) % 250}` }),
        ),
      );
    }
    requests = [];
    const all = await dns.listRecords(zone.id);
    expect(all).toHaveLength(250);
    expect(new Set(all.map((r) => r.id)).size).toBe(250);
    expect(requests.filter((r) => r.includes('/dns_records')).length).toBeGreaterThanOrEqual(3);
  });

  it('upserting the same record twice leaves one record', async () => {
    const zone = await dns.ensureZone('twice.example');
    const record = { type: 'A' as const, name: 'mail.twice.example', content: '192.0.2.10', ttl: 300 };
    expect((await dns.upsertRecord(zone.id, record)).action).toBe('created');
    expect((await dns.upsertRecord(zone.id, record)).action).toBe('unchanged');
    expect(await dns.listRecords(zone.id, { type: 'A' })).toHaveLength(1);
  });

  it('upsert updates the record in the same slot instead of adding one', async () => {
    const zone = await dns.ensureZone('slot.example');
    const spf = (r: { content: string }) => r.content.startsWith('v=spf1');
    const first = await dns.upsertRecord(zone.id, { type: 'TXT', name: 'slot.example', content: 'v=spf1 ip4:192.0.2.1 -all' }, spf);
    await dns.upsertRecord(zone.id, { type: 'TXT', name: 'slot.example', content: 'other=1' }, (r) => r.content === 'other=1');
    const second = await dns.upsertRecord(zone.id, { type: 'TXT', name: 'slot.example', content: 'v=spf1 ip4:192.0.2.2 -all' }, spf);
    expect(second.action).toBe('updated');
    expect(second.record.id).toBe(first.record.id);
    const txt = await dns.listRecords(zone.id, { type: 'TXT' });
    expect(txt.map((r) => r.content).sort()).toEqual(['other=1', 'v=spf1 ip4:192.0.2.2 -all']);
  });

  it('upsert removes duplicates in the slot', async () => {
    const zone = await dns.ensureZone('dupes.example');
    await dns.createRecord(zone.id, { type: 'TXT', name: '_dmarc.dupes.example', content: 'v=DMARC1; p=none' });
    await dns.createRecord(zone.id, { type: 'TXT', name: '_dmarc.dupes.example', content: 'v=DMARC1; p=quarantine' });
    const result = await dns.upsertRecord(zone.id, { type: 'TXT', name: '_dmarc.dupes.example', content: 'v=DMARC1; p=reject' }, () => true);
    expect(result.action).toBe('updated');
    expect((await dns.listRecords(zone.id)).map((r) => r.content)).toEqual(['v=DMARC1; p=reject']);
  });

  it('round-trips TLSA, CAA and SSHFP in presentation format through structured data', async () => {
    const zone = await dns.ensureZone('structured.example');
    const hex = 'ab'.repeat(32);
    const inputs = [
      { type: 'TLSA' as const, name: '_25._tcp.mail.structured.example', content: `3 1 1 ${hex}` },
      { type: 'CAA' as const, name: 'structured.example', content: '0 issue "letsencrypt.org"' },
      { type: 'SSHFP' as const, name: 'mail.structured.example', content: `4 2 ${hex}` },
    ];
    for (const input of inputs) expect((await dns.upsertRecord(zone.id, input)).action).toBe('created');
    for (const input of inputs) {
      const [read] = await dns.listRecords(zone.id, { type: input.type });
      expect(read?.content).toBe(input.content);
      expect((await dns.upsertRecord(zone.id, input)).action).toBe('unchanged');
    }
    const stored = emulator.records(zone.id);
    expect(stored.find((r) => r.type === 'TLSA')?.data).toEqual({ usage: 3, selector: 1, matching_type: 1, certificate: hex });
    expect(stored.find((r) => r.type === 'CAA')?.data).toEqual({ flags: 0, tag: 'issue', value: 'letsencrypt.org' });
    expect(stored.find((r) => r.type === 'SSHFP')?.data).toEqual({ algorithm: 4, type: 2, fingerprint: hex });
  });

  it('round-trips SRV (RFC 6186) through structured data, the "." target of a service not offered included', async () => {
    const zone = await dns.ensureZone('srv.example');
    const inputs = [
      { type: 'SRV' as const, name: '_imaps._tcp.srv.example', content: '0 1 993 mail.srv.example' },
      { type: 'SRV' as const, name: '_imap._tcp.srv.example', content: '0 0 0 .' },
    ];
    for (const input of inputs) expect((await dns.upsertRecord(zone.id, input)).action).toBe('created');
    const read = await dns.listRecords(zone.id, { type: 'SRV' });
    expect(read.map((r) => r.content).sort()).toEqual(['0 0 0 .', '0 1 993 mail.srv.example']);
    for (const input of inputs) expect((await dns.upsertRecord(zone.id, input)).action).toBe('unchanged');
    expect(emulator.records(zone.id).find((r) => r.name === '_imaps._tcp.srv.example')?.data).toEqual({
      priority: 0,
      weight: 1,
      port: 993,
      target: 'mail.srv.example',
    });
  });

  it('publishes mail records unproxied, with MX priority', async () => {
    const zone = await dns.ensureZone('mx.example');
    await dns.upsertRecord(zone.id, { type: 'A', name: 'mail.mx.example', content: '192.0.2.25' });
    await dns.upsertRecord(zone.id, { type: 'AAAA', name: 'mail.mx.example', content: '2001:DB8:0:0::25' });
    await dns.upsertRecord(zone.id, { type: 'MX', name: 'mx.example', content: 'mail.mx.example', priority: 10 });
    expect(emulator.records(zone.id).every((r) => r.proxied === false)).toBe(true);
    const [mx] = await dns.listRecords(zone.id, { type: 'MX' });
    expect(mx).toMatchObject({ content: 'mail.mx.example', priority: 10 });
    expect(emulator.answers('mx.example', 'MX')).toEqual(['10 mail.mx.example']);
    expect((await dns.upsertRecord(zone.id, { type: 'AAAA', name: 'mail.mx.example', content: '2001:db8::25' })).action).toBe('unchanged');
  });

  it('treats presentation-format variants of a record as the same record', async () => {
    const zone = await dns.ensureZone('variants.example');
    const hex = 'cd'.repeat(32);
    await dns.upsertRecord(zone.id, { type: 'TLSA', name: '_25._tcp.variants.example', content: `3 1 1 ${hex}` });
    await dns.upsertRecord(zone.id, { type: 'CNAME', name: 'www.variants.example', content: 'mail.variants.example' });
    const tlsa = await dns.upsertRecord(zone.id, { type: 'TLSA', name: '_25._tcp.variants.example', content: `3  1 1 ${hex.toUpperCase()}` });
    const cname = await dns.upsertRecord(zone.id, { type: 'CNAME', name: 'WWW.variants.example', content: 'mail.variants.example.' });
    expect([tlsa.action, cname.action]).toEqual(['unchanged', 'unchanged']);
    expect(emulator.records(zone.id)).toHaveLength(2);
  });

  it('changing only the TTL updates the record in place', async () => {
    const zone = await dns.ensureZone('ttl.example');
    const first = await dns.upsertRecord(zone.id, { type: 'A', name: 'ttl.example', content: '192.0.2.9', ttl: 300 });
    const second = await dns.upsertRecord(zone.id, { type: 'A', name: 'ttl.example', content: '192.0.2.9', ttl: 3600 });
    expect(second).toMatchObject({ action: 'updated', record: { id: first.record.id, ttl: 3600 } });
  });

  it('deleting a record twice succeeds', async () => {
    const zone = await dns.ensureZone('delete.example');
    const record = await dns.createRecord(zone.id, { type: 'A', name: 'gone.delete.example', content: '192.0.2.1' });
    await dns.deleteRecord(zone.id, record.id);
    await dns.deleteRecord(zone.id, record.id);
    expect(emulator.records(zone.id)).toHaveLength(0);
  });

  it('enables DNSSEC and reports the DS record', async () => {
    const zone = await dns.ensureZone('signed.example');
    expect(await dns.getDnssec(zone.id)).toEqual({ state: 'disabled', ds: null, key: null });
    const enabled = await dns.enableDnssec(zone.id);
    expect(enabled.state).toBe('active');
    expect(enabled.ds).toMatch(/^signed\.example\. 3600 IN DS \d+ 13 2 [0-9A-F]{64}$/);
    // What registries that want the key rather than the DS ask for, consistent with the DS.
    const [, keyTag, algorithm, digestType, digest] = /IN DS (\d+) (\d+) (\d+) ([0-9A-F]+)$/.exec(enabled.ds!)!;
    expect(enabled.key).toEqual({ keyTag: Number(keyTag), algorithm, digestType, digest, publicKey: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/), flags: 257 });
    expect(await dns.enableDnssec(zone.id)).toEqual(enabled);
    expect(await dns.getDnssec(zone.id)).toEqual(enabled);
  });

  it('refuses an identical record with a non-retryable ProviderError', async () => {
    const zone = await dns.ensureZone('identical.example');
    const record = { type: 'A' as const, name: 'identical.example', content: '192.0.2.7' };
    await dns.createRecord(zone.id, record);
    const err = await dns.createRecord(zone.id, record).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'cloudflare', providerStatus: 400, retryable: false });
    expect((err as ProviderError).detail).toContain('81058');
  });

  it('rejects a wrong API token as a non-retryable 403', async () => {
    const wrong = createCloudflareDns({ apiToken: 'nope', accountId: ACCOUNT, apiUrl: emulator.url, maxRetries: 0 });
    const err = await wrong.findZone('any.example').catch((e: unknown) => e);
    expect(err).toMatchObject({ provider: 'cloudflare', providerStatus: 403, retryable: false });
  });
});

describe('Cloudflare emulator', () => {
  const emulator = new CloudflareEmulator();
  beforeAll(() => emulator.start());
  afterAll(() => emulator.stop());

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${emulator.url}/client/v4${path}`, { ...init, headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json', ...init.headers } });

  it('answers 401 in the Cloudflare envelope without a Bearer token', async () => {
    const res = await fetch(`${emulator.url}/client/v4/zones`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ success: false, errors: [{ code: 10000, message: 'Authentication error' }], messages: [], result: null });
  });

  it('paginates with result_info and answers an empty page past the end', async () => {
    const created = await api('/zones', { method: 'POST', body: JSON.stringify({ name: 'pages.example', account: { id: 'a' } }) });
    const zone = ((await created.json()) as { result: { id: string } }).result;
    for (let i = 0; i < 7; i++) {
      await api(`/zones/${zone.id}/dns_records`, { method: 'POST', body: JSON.stringify({ type: 'A', name: `h${i}`, content: '192.0.2.1' }) });
    }
    const page2 = (await (await api(`/zones/${zone.id}/dns_records?per_page=5&page=2`)).json()) as Record<string, unknown>;
    expect(page2['result_info']).toEqual({ page: 2, per_page: 5, count: 2, total_count: 7, total_pages: 2 });
    const page3 = (await (await api(`/zones/${zone.id}/dns_records?per_page=5&page=3`)).json()) as Record<string, unknown>;
    expect(page3['result']).toEqual([]);
    expect(emulator.records(zone.id).map((r) => r.name)).toContain('h0.pages.example');
  });

  it('answers DNS questions from its zones, following CNAMEs', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    const zone = await dns.ensureZone('answers.example');
    await dns.createRecord(zone.id, { type: 'A', name: 'mail.answers.example', content: '192.0.2.80' });
    await dns.createRecord(zone.id, { type: 'CNAME', name: 'mta-sts.answers.example', content: 'mail.answers.example' });
    expect(emulator.answers('MTA-STS.answers.example.', 'A')).toEqual(['192.0.2.80']);
    expect(emulator.answers('mta-sts.answers.example', 'CNAME')).toEqual(['mail.answers.example']);
    expect(emulator.answers('mail.answers.example', 'AAAA')).toEqual([]);
    expect(emulator.answers('answers.example', 'NS')).toEqual(zone.nameServers);
    expect(emulator.answers('elsewhere.example', 'A')).toBeNull();
    expect(emulator.findZoneFor('deep.mail.answers.example')?.id).toBe(zone.id);
  });

  it('keeps a zone pending (and publicly unanswered) until the nameservers move; the activation check then sees it', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    emulator.setZoneActivation('manual');
    try {
      const zone = await dns.ensureZone('pending-ns.example');
      expect(zone.status).toBe('pending');
      await dns.createRecord(zone.id, { type: 'A', name: 'mail.pending-ns.example', content: '192.0.2.81' });
      // Public resolvers never reach a zone that is not delegated yet.
      expect(emulator.answers('mail.pending-ns.example', 'A')).toBeNull();
      expect((await dns.checkActivation(zone.id))?.status).toBe('pending');
      emulator.activateZone('pending-ns.example');
      expect((await dns.checkActivation(zone.id))?.status).toBe('active');
      expect(emulator.answers('mail.pending-ns.example', 'A')).toEqual(['192.0.2.81']);
    } finally {
      emulator.setZoneActivation('immediate');
    }
  });

  it('reads the zone when Cloudflare refuses the activation check (a second one within the hour, or a zone already active)', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    emulator.setZoneActivation('manual');
    try {
      const zone = await dns.ensureZone('recheck-often.example');
      expect((await dns.checkActivation(zone.id, 'recheck-often.example'))?.status).toBe('pending');
      // The documented limit: once an hour on a Free zone. The refusal's status is undocumented; the emulator's is a 400.
      const again = await fetch(`${emulator.url}/client/v4/zones/${zone.id}/activation_check`, { method: 'PUT', headers: { Authorization: 'Bearer t' } });
      expect(again.status).toBe(400);
      expect((await dns.checkActivation(zone.id, 'recheck-often.example'))?.status).toBe('pending');
      emulator.activateZone('recheck-often.example');
      expect((await dns.checkActivation(zone.id, 'recheck-often.example'))?.status).toBe('active');
    } finally {
      emulator.setZoneActivation('immediate');
    }
  });

  it('forgets a Free-plan zone still pending after 28 days: the activation check answers null', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    emulator.setZoneActivation('manual');
    try {
      const zone = await dns.ensureZone('expired-ns.example');
      expect(emulator.expirePendingZone('expired-ns.example')).toBe(true);
      // Not a 404: the id of a zone the account no longer holds is refused like one the token may not see.
      const raw = await fetch(`${emulator.url}/client/v4/zones/${zone.id}`, { headers: { Authorization: 'Bearer t' } });
      expect(raw.status).toBe(403);
      expect(((await raw.json()) as { errors: { code: number }[] }).errors[0]?.code).toBe(9109);
      expect(await dns.checkActivation(zone.id, 'expired-ns.example')).toBeNull();
    } finally {
      emulator.setZoneActivation('immediate');
    }
  });

  it('gives a domain added again after deletion a new nameserver pair', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    const first = await dns.ensureZone('readded.example');
    await dns.deleteZone(first.id);
    const second = await dns.ensureZone('readded.example');
    expect(second.id).not.toBe(first.id);
    expect(second.nameServers).not.toEqual(first.nameServers);
  });

  it('deleting a zone that is already gone succeeds once no zone of that name is left (Cloudflare answers 403 9109)', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    const zone = await dns.ensureZone('twice-deleted.example');
    await dns.deleteZone(zone.id, 'twice-deleted.example');
    const raw = await fetch(`${emulator.url}/client/v4/zones/${zone.id}`, { method: 'DELETE', headers: { Authorization: 'Bearer t' } });
    expect(raw.status).toBe(403);
    expect(((await raw.json()) as { errors: { code: number }[] }).errors[0]?.code).toBe(9109);
    await expect(dns.deleteZone(zone.id, 'twice-deleted.example')).resolves.toBeUndefined();
    // Without the name to confirm it, a 403 stays a refusal: it may be a token without the right permission.
    await expect(dns.deleteZone(zone.id)).rejects.toBeInstanceOf(ProviderError);
  });

  it('disables an active DNSSEC through pending-disabled (still signing, DS kept), and re-enabling keeps the key', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    const zone = await dns.ensureZone('dnssec-off.example');
    emulator.setDnssec(zone.id, 'active');
    const active = await dns.getDnssec(zone.id);
    const res = await fetch(`${emulator.url}/client/v4/zones/${zone.id}/dnssec`, {
      method: 'PATCH',
      headers: { Authorization: 'Bearer t', 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'disabled' }),
    });
    expect(((await res.json()) as { result: { status: string } }).result.status).toBe('pending-disabled');
    expect(await dns.getDnssec(zone.id)).toEqual({ state: 'pending-disabled', ds: active.ds, key: active.key });
    const again = await dns.enableDnssec(zone.id);
    expect(again.ds).toBe(active.ds);
  });

  it('keeps DNSSEC pending with a DS until the sandbox activates it', async () => {
    const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
    const zone = await dns.ensureZone('pending-dnssec.example');
    const pending = await dns.enableDnssec(zone.id);
    expect(pending.state).toBe('pending');
    expect(pending.ds).toContain('pending-dnssec.example. 3600 IN DS');
    emulator.setDnssec(zone.id, 'active');
    expect(await dns.getDnssec(zone.id)).toEqual({ state: 'active', ds: pending.ds, key: pending.key });
  });

  it('changes its fault profile through the inspection API', async () => {
    const res = await fetch(`${emulator.url}/__sandbox/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 1 }) });
    expect(await res.json()).toEqual({ errorRate: 1 });
    try {
      const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: emulator.url, maxRetries: 0 });
      const err = await dns.findZone('x.example').catch((e: unknown) => e);
      expect(err).toMatchObject({ provider: 'cloudflare', retryable: true });
      expect([500, 503]).toContain((err as ProviderError).providerStatus);
    } finally {
      emulator.faults.set({});
    }
  });

  it('injected 429s reach the caller as retryable with Retry-After', async () => {
    const faulty = new CloudflareEmulator({ faults: { rateLimitRate: 1, retryAfterSeconds: 7 } });
    await faulty.start();
    try {
      const dns = createCloudflareDns({ apiToken: 't', accountId: 'a', apiUrl: faulty.url, maxRetries: 0 });
      const err = await dns.findZone('x.example').catch((e: unknown) => e);
      expect(err).toMatchObject({ provider: 'cloudflare', providerStatus: 429, retryable: true, retryAfterMs: 7000 });
      const state = (await (await fetch(`${faulty.url}/__sandbox/state`)).json()) as { faults: unknown };
      expect(state.faults).toEqual({ rateLimitRate: 1, retryAfterSeconds: 7 });
    } finally {
      await faulty.stop();
    }
  });
});
