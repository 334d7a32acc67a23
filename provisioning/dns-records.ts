/**
 * The DNS records a mail server needs, computed from what the steps learned.
 * Each has a stable `purpose` (one desired record per purpose) and a rule for
 * which existing record it replaces, so re-publishing converges instead of
 * piling up records — and never touches the customer's unrelated records.
 */
import { createHash } from 'node:crypto';
import type { DnsRecord, DnsRecordInput } from '../src/providers/dns/interface.ts';

export interface DesiredRecord extends DnsRecordInput {
  purpose: string;
  sameSlot: (existing: DnsRecord) => boolean;
}

export interface RecordFacts {
  domain: string;
  hostname: string;
  ipv4: string | null;
  ipv6: string | null;
  dkim: { selector: string; publicKeyBase64: string } | null;
  sshfpSha256Hex: string | null;
  dmarcRua: string | null;
  tlsRptRua: string | null;
}

export const MTA_STS_MAX_AGE = 604800;

export function mtaStsPolicy(f: Pick<RecordFacts, 'hostname'>): string {
  return `version: STSv1\nmode: enforce\nmx: ${f.hostname}\nmax_age: ${MTA_STS_MAX_AGE}\n`;
}

/** The policy id changes exactly when the policy text does (RFC 8461 §3.1). */
export function mtaStsId(policy: string): string {
  return createHash('sha256').update(policy).digest('hex').slice(0, 20);
}

const sameName = (type: string, name: string) => (r: DnsRecord) => r.type === type && r.name === name;
const sameTxt = (name: string, prefix: string) => (r: DnsRecord) =>
  r.type === 'TXT' && r.name === name && r.content.replace(/^"/, '').toLowerCase().startsWith(prefix.toLowerCase());

export function desiredRecords(f: RecordFacts): DesiredRecord[] {
  const out: DesiredRecord[] = [];
  const add = (purpose: string, rec: DnsRecordInput, sameSlot: DesiredRecord['sameSlot']) => out.push({ purpose, ...rec, sameSlot });

  if (f.ipv4) add('a_mail', { type: 'A', name: f.hostname, content: f.ipv4 }, sameName('A', f.hostname));
  if (f.ipv6) add('aaaa_mail', { type: 'AAAA', name: f.hostname, content: f.ipv6 }, sameName('AAAA', f.hostname));
  add('mx', { type: 'MX', name: f.domain, content: f.hostname, priority: 10 }, sameName('MX', f.domain));
  // The webmail and MTA-STS hosts are the mail server; CNAMEs follow an IP rotation for free.
  for (const label of ['webmail', 'mta-sts']) {
    const name = `${label}.${f.domain}`;
    add(`cname_${label.replace('-', '_')}`, { type: 'CNAME', name, content: f.hostname }, sameName('CNAME', name));
  }
  const spf = ['v=spf1', f.ipv4 && `ip4:${f.ipv4}`, f.ipv6 && `ip6:${f.ipv6}`, '-all'].filter(Boolean).join(' ');
  add('spf', { type: 'TXT', name: f.domain, content: spf }, sameTxt(f.domain, 'v=spf1'));
  // The server's own mail (bounces and other notices from MAILER-DAEMON@<hostname>, cron) has the
  // hostname in its From and, with an empty envelope sender, in the SPF identity (HELO, RFC 7208
  // §2.3): SPF for the hostname is what makes it pass DMARC under aspf=s.
  add('spf_mail', { type: 'TXT', name: f.hostname, content: spf }, sameTxt(f.hostname, 'v=spf1'));
  if (f.dkim) {
    const name = `${f.dkim.selector}._domainkey.${f.domain}`;
    add('dkim', { type: 'TXT', name, content: `v=DKIM1; k=rsa; p=${f.dkim.publicKeyBase64}` }, sameTxt(name, 'v=DKIM1'));
  }
  const dmarcName = `_dmarc.${f.domain}`;
  const rua = f.dmarcRua ? `; rua=mailto:${f.dmarcRua}` : '';
  add('dmarc', { type: 'TXT', name: dmarcName, content: `v=DMARC1; p=quarantine; adkim=s; aspf=s${rua}` }, sameTxt(dmarcName, 'v=DMARC1'));
  const stsName = `_mta-sts.${f.domain}`;
  add('mta_sts', { type: 'TXT', name: stsName, content: `v=STSv1; id=${mtaStsId(mtaStsPolicy(f))}` }, sameTxt(stsName, 'v=STSv1'));
  const rptName = `_smtp._tls.${f.domain}`;
  add('tls_rpt', { type: 'TXT', name: rptName, content: `v=TLSRPTv1; rua=mailto:${f.tlsRptRua ?? `postmaster@${f.domain}`}` }, sameTxt(rptName, 'v=TLSRPTv1'));
  const caa = `0 issue "letsencrypt.org"`;
  add('caa_issue', { type: 'CAA', name: f.domain, content: caa }, (r) => r.type === 'CAA' && r.name === f.domain && r.content === caa);
  if (f.sshfpSha256Hex) {
    add('sshfp', { type: 'SSHFP', name: f.hostname, content: `4 2 ${f.sshfpSha256Hex}` }, (r) => r.type === 'SSHFP' && r.name === f.hostname && r.content.startsWith('4 2 '));
  }
  return out;
}

export function tlsaRecord(hostname: string, spkiSha256Hex: string): DesiredRecord {
  const name = `_25._tcp.${hostname}`;
  return { purpose: 'tlsa', type: 'TLSA', name, content: `3 1 1 ${spkiSha256Hex}`, sameSlot: sameName('TLSA', name) };
}
