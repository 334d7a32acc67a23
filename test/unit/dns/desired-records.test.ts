/** The records mailplane publishes for a domain: CAA on the mail host, SPF merged with the customer's senders, DMARC reports that go somewhere. */
import { describe, expect, it } from 'vitest';
import { desiredRecords, dmarcReportAuthorization, isMailplaneSlot, type RecordFacts } from '../../../provisioning/dns-records.ts';

const facts: RecordFacts = {
  domain: 'example.com',
  hostname: 'mail.example.com',
  ipv4: '192.0.2.10',
  ipv6: '2001:db8::10',
  dkim: null,
  sshfpSha256Hex: null,
  dmarcRua: null,
  tlsRptRua: null,
};
const byPurpose = (f: RecordFacts) => Object.fromEntries(desiredRecords(f).map((r) => [r.purpose, r]));

describe('desired records', () => {
  it('puts CAA on the mail host, never on the apex', () => {
    const caa = desiredRecords(facts).filter((r) => r.type === 'CAA');
    expect(caa.map((r) => [r.name, r.content])).toEqual([['mail.example.com', '0 issue "letsencrypt.org"']]);
    // The customer's own apex CAA is not in mailplane's slot, so publishing never replaces it.
    expect(caa[0]!.sameSlot({ id: 'x', type: 'CAA', name: 'example.com', content: '0 issue "digicert.com"' })).toBe(false);
  });

  it("keeps the customer's SPF senders between the server's addresses and -all", () => {
    expect(byPurpose(facts)['spf']!.content).toBe('v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all');
    const merged = byPurpose({ ...facts, spfTerms: ['include:_spf.crm.example', 'ip4:192.0.2.10', '~ip4:203.0.113.0/24'] })['spf']!;
    expect(merged.content).toBe('v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 include:_spf.crm.example ~ip4:203.0.113.0/24 -all');
  });

  it("sends DMARC aggregate reports to the domain's own dmarc-reports@ by default, and to DMARC_RUA too", () => {
    expect(byPurpose(facts)['dmarc']!.content).toBe('v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:dmarc-reports@example.com');
    expect(dmarcReportAuthorization(facts)).toBeNull();
    const external = { ...facts, dmarcRua: 'reports@dmarc.mailplane.example' };
    expect(byPurpose(external)['dmarc']!.content).toContain('rua=mailto:dmarc-reports@example.com,mailto:reports@dmarc.mailplane.example');
    // RFC 7489 §7.1: the other domain must say it takes this domain's reports.
    expect(dmarcReportAuthorization(external)).toEqual({
      ruaDomain: 'dmarc.mailplane.example',
      name: 'example.com._report._dmarc.dmarc.mailplane.example',
      content: 'v=DMARC1',
    });
    expect(dmarcReportAuthorization({ ...facts, dmarcRua: 'dmarc@reports.example.com' })).toBeNull();
  });

  it("tells mailplane's names from the customer's", () => {
    const slots = { domain: 'example.com', hostname: 'mail.example.com', dkimSelectors: ['mp2026'] };
    const mine = (type: string, name: string, content = 'x') => isMailplaneSlot(slots, { type, name, content });
    expect(mine('A', 'mail.example.com')).toBe(true);
    expect(mine('MX', 'example.com')).toBe(true);
    expect(mine('TXT', 'example.com', 'v=spf1 -all')).toBe(true);
    expect(mine('TXT', '_dmarc.example.com')).toBe(true);
    expect(mine('TXT', 'mp2026._domainkey.example.com')).toBe(true);
    expect(mine('CNAME', 'webmail.example.com')).toBe(true);
    expect(mine('A', 'example.com')).toBe(false);
    expect(mine('A', 'www.example.com')).toBe(false);
    expect(mine('TXT', 'example.com', 'google-site-verification=1')).toBe(false);
    expect(mine('CNAME', 'k1._domainkey.example.com')).toBe(false);
    expect(mine('CAA', 'example.com', '0 issue "digicert.com"')).toBe(false);
  });
});
