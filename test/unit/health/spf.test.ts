import { describe, expect, it } from 'vitest';
import { evaluateSpf } from '../../../src/health/spf.ts';
import type { DnsLookup, LookupResult, LookupType } from '../../../src/providers/lookup/interface.ts';

function zone(records: Record<string, string[]>, failing: string[] = []): DnsLookup {
  return {
    async lookup(name: string, type: LookupType): Promise<LookupResult> {
      if (failing.includes(name)) return { status: 'error', error: 'SERVFAIL' };
      const answers = records[`${type} ${name}`];
      return answers ? { status: 'ok', answers } : { status: 'nxdomain' };
    },
  };
}

describe("SPF evaluation for the server's own IPs", () => {
  it('passes an address listed by ip4/ip6 and fails others with -all', async () => {
    const dns = zone({ 'TXT example.com': ['v=spf1 ip4:198.51.100.1 ip6:2001:db8::/64 -all'] });
    expect(await evaluateSpf(dns, 'example.com', '198.51.100.1')).toBe('pass');
    expect(await evaluateSpf(dns, 'example.com', '2001:db8::5')).toBe('pass');
    expect(await evaluateSpf(dns, 'example.com', '198.51.100.2')).toBe('fail');
  });

  it('follows mx, a and include, and reports softfail from ~all', async () => {
    const dns = zone({
      'TXT example.com': ['v=spf1 mx include:_spf.provider.test ~all'],
      'MX example.com': ['10 mail.example.com'],
      'A mail.example.com': ['198.51.100.7'],
      'TXT _spf.provider.test': ['v=spf1 a:relay.provider.test -all'],
      'A relay.provider.test': ['203.0.113.9'],
    });
    expect(await evaluateSpf(dns, 'example.com', '198.51.100.7')).toBe('pass');
    expect(await evaluateSpf(dns, 'example.com', '203.0.113.9')).toBe('pass');
    expect(await evaluateSpf(dns, 'example.com', '192.0.2.1')).toBe('softfail');
  });

  it('answers none, permerror and temperror where the RFC says so', async () => {
    expect(await evaluateSpf(zone({}), 'example.com', '192.0.2.1')).toBe('none');
    expect(await evaluateSpf(zone({ 'TXT example.com': ['v=spf1 -all', 'v=spf1 +all'] }), 'example.com', '192.0.2.1')).toBe('permerror');
    expect(await evaluateSpf(zone({}, ['example.com']), 'example.com', '192.0.2.1')).toBe('temperror');
    const loop = zone({ 'TXT a.test': ['v=spf1 include:b.test -all'], 'TXT b.test': ['v=spf1 include:a.test -all'] });
    expect(await evaluateSpf(loop, 'a.test', '192.0.2.1')).toBe('permerror');
  });
});
