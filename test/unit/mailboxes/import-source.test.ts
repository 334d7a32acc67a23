/**
 * Which old IMAP servers an import may connect to: public addresses only, whatever form the
 * address takes (a name, a literal, IPv4 inside IPv6), and a test range only when configured.
 */
import { describe, expect, it } from 'vitest';
import { isPublicAddress, resolveImportSource } from '../../../src/mailboxes/import-source.ts';
import type { DnsLookup, LookupResult } from '../../../src/providers/lookup/interface.ts';

const zone: Record<string, Partial<Record<'A' | 'AAAA', string[]>>> = {
  'imap.example.net': { A: ['8.8.4.4'], AAAA: ['2a01:4f8::25'] },
  'v6only.example.net': { AAAA: ['2606:4700::1'] },
  'intranet.example.net': { A: ['10.0.0.25'] },
  'mixed.example.net': { A: ['8.8.4.4', '192.168.1.10'] },
  'metadata.example.net': { A: ['169.254.169.254'] },
  'test-net.example.net': { A: ['198.51.100.7'] },
};
const lookup: DnsLookup = {
  async lookup(name, type): Promise<LookupResult> {
    if (name === 'broken.example.net') return { status: 'error', error: 'SERVFAIL' };
    const answers = zone[name]?.[type as 'A' | 'AAAA'];
    if (!zone[name]) return { status: 'nxdomain' };
    return answers ? { status: 'ok', answers } : { status: 'nodata' };
  },
};
const closed = { allowedRanges: [] };

describe('isPublicAddress', () => {
  it.each([
    '10.1.2.3',
    '127.0.0.1',
    '169.254.169.254',
    '100.64.1.1',
    '192.168.1.1',
    '172.16.0.1',
    '172.31.255.255',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '192.0.2.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'fc00::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::10.0.0.1',
    '2001:db8::1',
    '2002:a00:1::1',
    '2001::1',
    'fec0::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '::ffff:8.8.8.8', '2606:4700:4700::1111', '2a01:4f8::1', '2001:4860:4860::8888'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('resolveImportSource', () => {
  it('resolves a name and pins its IPv4 address', async () => {
    expect(await resolveImportSource(lookup, closed, 'IMAP.example.net.')).toEqual({ host: 'imap.example.net', address: '8.8.4.4' });
    expect(await resolveImportSource(lookup, closed, 'v6only.example.net')).toEqual({ host: 'v6only.example.net', address: '2606:4700::1' });
  });

  it('refuses with 422 a name leading to a private, link-local or documentation address, or to one among public ones', async () => {
    for (const host of ['intranet.example.net', 'mixed.example.net', 'metadata.example.net', 'test-net.example.net', '127.0.0.1', '[::1]', '::ffff:10.0.0.1']) {
      await expect(resolveImportSource(lookup, closed, host), host).rejects.toMatchObject({ status: 422, code: 'import_source_refused' });
    }
  });

  it('refuses a name without an address, and what is no host name', async () => {
    await expect(resolveImportSource(lookup, closed, 'nowhere.example.net')).rejects.toMatchObject({
      status: 422,
      detail: expect.stringMatching(/no address/),
    });
    for (const host of ['imap example.net', 'http://imap.example.net', 'localhost', '-bad.example.net']) {
      await expect(resolveImportSource(lookup, closed, host), host).rejects.toMatchObject({ status: 422 });
    }
  });

  it('says so when the lookup itself fails (retryable, not a refusal)', async () => {
    await expect(resolveImportSource(lookup, closed, 'broken.example.net')).rejects.toMatchObject({ status: 503, retryable: true });
  });

  it('accepts a test range only when the setting lists it', async () => {
    const open = { allowedRanges: ['198.51.100.0/24', '2001:db8::/32'] };
    expect(await resolveImportSource(lookup, open, 'test-net.example.net')).toEqual({ host: 'test-net.example.net', address: '198.51.100.7' });
    expect((await resolveImportSource(lookup, open, '2001:db8::5')).address).toBe('2001:db8::5');
    await expect(resolveImportSource(lookup, open, 'intranet.example.net')).rejects.toMatchObject({ status: 422 });
  });
});
