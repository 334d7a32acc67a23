/**
 * The node:dns lookup adapter against the sandbox DNS emulator over real UDP
 * (and TCP when an answer is truncated) on 127.0.0.1.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DnsLookup } from '../../../src/providers/lookup/interface.ts';
import { createResolverLookup } from '../../../src/providers/lookup/resolver.ts';
import { DnsEmulator } from '../../../src/sandbox/dns/emulator.ts';

const SPKI_SHA256 = 'c0ffee'.repeat(10) + 'abcd';

function dkimValue(): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
}

const dkim = dkimValue();

/** name → type → presentation values; a name absent here does not exist. */
const zone: Record<string, Record<string, string[]>> = {
  'example.test': {
    A: ['192.0.2.10'],
    AAAA: ['2001:db8::10'],
    MX: ['10 mail.example.test'],
    TXT: ['v=spf1 mx -all'],
    CAA: ['0 issue "letsencrypt.org"'],
    NS: ['ns1.sandbox.test', 'ns2.sandbox.test'],
  },
  'mail._domainkey.example.test': { TXT: [dkim] },
  '_25._tcp.mail.example.test': { TLSA: [`3 1 1 ${SPKI_SHA256}`] },
  '10.2.0.192.in-addr.arpa': { PTR: ['mail.example.test'] },
  '_imaps._tcp.example.test': { SRV: ['0 1 993 mail.example.test'] },
  '_pop3._tcp.example.test': { SRV: ['0 0 0 .'] },
  'many.example.test': { TXT: Array.from({ length: 4 }, (_, i) => `record-${i}-${'z'.repeat(400)}`) },
  'utf8.example.test': { TXT: ['é'.repeat(200)] },
  'broken.example.test': { A: ['not-an-address'] },
};

describe('DNS lookups through node:dns against the DNS emulator', () => {
  const emulator = new DnsEmulator({
    answer: (name, type) => (zone[name] ? (zone[name][type] ?? []) : null),
    dnsbl: { zones: [], listedCodes: () => [] },
  });
  let dns: DnsLookup;

  beforeAll(async () => {
    await emulator.start();
    dns = createResolverLookup({ servers: [emulator.address], timeoutMs: 500, tries: 1 });
  });
  afterEach(() => {
    emulator.setFailure('example.test', null);
  });
  afterAll(() => emulator.stop());

  it('answers A, AAAA, MX, TXT, CAA and NS in presentation form', async () => {
    expect(await dns.lookup('example.test', 'A')).toEqual({ status: 'ok', answers: ['192.0.2.10'] });
    expect(await dns.lookup('example.test', 'AAAA')).toEqual({ status: 'ok', answers: ['2001:db8::10'] });
    expect(await dns.lookup('example.test', 'MX')).toEqual({ status: 'ok', answers: ['10 mail.example.test'] });
    expect(await dns.lookup('example.test', 'TXT')).toEqual({ status: 'ok', answers: ['v=spf1 mx -all'] });
    expect(await dns.lookup('example.test', 'CAA')).toEqual({ status: 'ok', answers: ['0 issue "letsencrypt.org"'] });
    const ns = await dns.lookup('example.test', 'NS');
    expect(ns.status === 'ok' && [...ns.answers].sort()).toEqual(['ns1.sandbox.test', 'ns2.sandbox.test']);
  });

  it('returns a 2048-bit DKIM key (several character-strings on the wire) joined and intact', async () => {
    expect(dkim.length).toBeGreaterThan(255);
    expect(await dns.lookup('mail._domainkey.example.test', 'TXT')).toEqual({ status: 'ok', answers: [dkim] });
  });

  it('retries over TCP when the UDP answer is truncated and gets every record', async () => {
    const result = await dns.lookup('many.example.test', 'TXT');
    expect(result.status === 'ok' && [...result.answers].sort()).toEqual(zone['many.example.test']!['TXT']);
    const seen = emulator.queries.filter((q) => q.name === 'many.example.test').map((q) => q.transport);
    expect(seen).toEqual(['udp', 'tcp']);
  });

  it('returns non-ASCII TXT text intact although node reads character-strings as latin1', async () => {
    expect(await dns.lookup('utf8.example.test', 'TXT')).toEqual({ status: 'ok', answers: ['é'.repeat(200)] });
  });

  it('answers SRV as "priority weight port target", with "." for a service not offered', async () => {
    expect(await dns.lookup('_imaps._tcp.example.test', 'SRV')).toEqual({ status: 'ok', answers: ['0 1 993 mail.example.test'] });
    expect(await dns.lookup('_pop3._tcp.example.test', 'SRV')).toEqual({ status: 'ok', answers: ['0 0 0 .'] });
  });

  it('answers TLSA as "usage selector matching-type hex"', async () => {
    expect(await dns.lookup('_25._tcp.mail.example.test', 'TLSA')).toEqual({ status: 'ok', answers: [`3 1 1 ${SPKI_SHA256}`] });
  });

  it('answers PTR for a reverse name and for the address itself', async () => {
    expect(await dns.lookup('10.2.0.192.in-addr.arpa', 'PTR')).toEqual({ status: 'ok', answers: ['mail.example.test'] });
    expect(await dns.lookup('192.0.2.10', 'PTR')).toEqual({ status: 'ok', answers: ['mail.example.test'] });
  });

  it('tells a name that does not exist from a name without that type', async () => {
    expect(await dns.lookup('missing.example.test', 'A')).toEqual({ status: 'nxdomain' });
    expect(await dns.lookup('mail._domainkey.example.test', 'A')).toEqual({ status: 'nodata' });
  });

  it('reports SERVFAIL, REFUSED and no answer as errors with their code', async () => {
    emulator.setFailure('example.test', 'servfail');
    expect(await dns.lookup('example.test', 'A')).toEqual({ status: 'error', error: 'ESERVFAIL' });
    emulator.setFailure('example.test', 'refused');
    expect(await dns.lookup('example.test', 'A')).toEqual({ status: 'error', error: 'EREFUSED' });
    emulator.setFailure('example.test', 'timeout');
    expect(await dns.lookup('example.test', 'A')).toEqual({ status: 'error', error: 'ETIMEOUT' });
  });

  it('turns a stored value that cannot be encoded into SERVFAIL, not a wrong answer', async () => {
    expect(await dns.lookup('broken.example.test', 'A')).toEqual({ status: 'error', error: 'ESERVFAIL' });
  });
});
