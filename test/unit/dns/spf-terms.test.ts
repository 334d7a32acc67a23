/** The customer's SPF terms: accepted forms, what is kept of an existing record, and RFC 7208's 10-lookup count through includes. */
import { describe, expect, it } from 'vitest';
import { countSpfLookups, normalizeSpfTerm, spfTermsOf } from '../../../src/customer-dns/spf-terms.ts';
import type { DnsLookup } from '../../../src/providers/lookup/interface.ts';

/** A resolver answering from a fixed table (a real DnsLookup, not a mock of mailplane's code). */
const table = (txt: Record<string, string>): DnsLookup => ({
  async lookup(name, type) {
    if (type !== 'TXT') return { status: 'nodata' };
    return name in txt ? { status: 'ok', answers: [txt[name]!] } : { status: 'nxdomain' };
  },
});

describe('SPF terms', () => {
  it('accepts the usual sender terms and refuses the rest', () => {
    expect(normalizeSpfTerm('include:_spf.Google.com')).toBe('include:_spf.google.com');
    expect(normalizeSpfTerm('+ip4:192.0.2.0/24')).toBe('ip4:192.0.2.0/24');
    expect(normalizeSpfTerm('~ip6:2001:db8::/32')).toBe('~ip6:2001:db8::/32');
    expect(normalizeSpfTerm('a')).toBe('a');
    expect(normalizeSpfTerm('mx:mail.example.com')).toBe('mx:mail.example.com');
    for (const bad of ['-all', 'all', 'ptr', 'redirect=x.example', 'include:', 'ip4:999.1.1.1', 'ip4:192.0.2.0/33', 'include:bad domain', 'exp=x.example']) {
      expect(normalizeSpfTerm(bad), bad).toBeNull();
    }
  });

  it("keeps an existing record's senders, not its all, nor the server's own address", () => {
    expect(spfTermsOf('v=spf1 ip4:192.0.2.10 include:_spf.crm.example a ~all', ['ip4:192.0.2.10'])).toEqual(['include:_spf.crm.example', 'a']);
    expect(spfTermsOf('"v=spf1 redirect=_spf.hoster.example"', [])).toEqual(['include:_spf.hoster.example']);
  });

  it('counts DNS lookups through includes, and refuses an include without SPF', async () => {
    const lookup = table({
      'a.example': 'v=spf1 include:b.example mx -all',
      'b.example': 'v=spf1 ip4:192.0.2.1 a exists:%{i}.x.example -all',
      'leaf.example': 'v=spf1 ip4:192.0.2.2 -all',
    });
    expect(await countSpfLookups(lookup, ['ip4:192.0.2.0/24', 'include:leaf.example'])).toBe(1);
    expect(await countSpfLookups(lookup, ['include:a.example', 'mx'])).toBe(6);
    await expect(countSpfLookups(lookup, ['include:nothing.example'])).rejects.toThrow(/publishes no SPF record/);
  });
});
