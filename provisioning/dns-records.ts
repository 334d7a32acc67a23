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
  /** The Ed25519 key signing beside the RSA one (RFC 8463), under its own selector. */
  dkimEd25519?: { selector: string; publicKeyBase64: string } | null;
  sshfpSha256Hex: string | null;
  /** An extra DMARC aggregate-report address (DMARC_RUA), besides the server's own dmarc-reports@<domain>. */
  dmarcRua: string | null;
  tlsRptRua: string | null;
  /** The customer's own SPF terms (their other senders), kept in the SPF record mailplane publishes. */
  spfTerms?: readonly string[];
}

/** Where DMARC aggregate reports go by default: an alias on the customer's own server (src/mailstack/mailboxes.ts). */
export const DMARC_REPORTS_LOCAL_PART = 'dmarc-reports';

/** Every rua address: the server's own first (no authorisation needed), then the configured one, if any. */
export function dmarcRuaAddresses(f: Pick<RecordFacts, 'domain' | 'dmarcRua'>): string[] {
  const own = `${DMARC_REPORTS_LOCAL_PART}@${f.domain}`;
  return f.dmarcRua && f.dmarcRua.toLowerCase() !== own ? [own, f.dmarcRua] : [own];
}

/**
 * RFC 7489 §7.1: a receiver sends reports for <domain> to an address in another domain only if that
 * domain publishes `<domain>._report._dmarc.<rua domain> TXT "v=DMARC1"`. Null when no external rua is set.
 */
export function dmarcReportAuthorization(f: Pick<RecordFacts, 'domain' | 'dmarcRua'>): { ruaDomain: string; name: string; content: string } | null {
  const ruaDomain = f.dmarcRua?.split('@')[1]?.toLowerCase().replace(/\.$/, '');
  if (!ruaDomain || ruaDomain === f.domain || ruaDomain.endsWith(`.${f.domain}`)) return null;
  return { ruaDomain, name: `${f.domain}._report._dmarc.${ruaDomain}`, content: 'v=DMARC1' };
}

/** The SPF mailplane publishes: the server's addresses, then the customer's own terms, then -all. */
export function spfRecord(f: Pick<RecordFacts, 'ipv4' | 'ipv6' | 'spfTerms'>): string {
  const own = [f.ipv4 && `ip4:${f.ipv4}`, f.ipv6 && `ip6:${f.ipv6}`].filter((t): t is string => Boolean(t));
  const theirs = (f.spfTerms ?? []).filter((t) => !own.includes(t.toLowerCase()));
  return ['v=spf1', ...own, ...theirs, '-all'].join(' ');
}

/** The names whose CAA mailplane sets: the mail host (webmail. and mta-sts. are CNAMEs to it, so CAA follows them there). */
export function caaName(f: Pick<RecordFacts, 'hostname'>): string {
  return f.hostname;
}

export const MTA_STS_MAX_AGE = 604800;

export function mtaStsPolicy(f: Pick<RecordFacts, 'hostname'>): string {
  return `version: STSv1\nmode: enforce\nmx: ${f.hostname}\nmax_age: ${MTA_STS_MAX_AGE}\n`;
}

/** The policy id changes exactly when the policy text does (RFC 8461 §3.1). */
export function mtaStsId(policy: string): string {
  return createHash('sha256').update(policy).digest('hex').slice(0, 20);
}

/** Names in the customer's domain that are CNAMEs to the mail host (each also on its certificate). */
export const MAIL_SERVER_ALIASES = ['webmail', 'mta-sts', 'autoconfig', 'autodiscover'] as const;

/**
 * RFC 6186 service records, so a mail client given only an address finds the server: submission with
 * implicit TLS (465, RFC 8314's preference) and with STARTTLS (587), IMAP over TLS (993); and "." (RFC 2782:
 * not offered here) for plain IMAP and for POP3, which the server does not run. `_autodiscover._tcp` is
 * Outlook's fallback when autodiscover.<domain> is not reachable.
 */
export function mailClientSrvRecords(f: Pick<RecordFacts, 'domain' | 'hostname'>): Array<{ purpose: string; name: string; content: string }> {
  const offered: Array<[string, number | null]> = [
    ['submissions', 465],
    ['submission', 587],
    ['imaps', 993],
    ['imap', null],
    ['pop3s', null],
    ['pop3', null],
    ['autodiscover', 443],
  ];
  return offered.map(([service, port]) => ({
    purpose: `srv_${service}`,
    name: `_${service}._tcp.${f.domain}`,
    content: port === null ? '0 0 0 .' : `0 1 ${port} ${f.hostname}`,
  }));
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
  // The webmail, MTA-STS and mail-client setup hosts are the mail server; CNAMEs follow an IP rotation for free.
  for (const label of MAIL_SERVER_ALIASES) {
    const name = `${label}.${f.domain}`;
    add(`cname_${label.replace('-', '_')}`, { type: 'CNAME', name, content: f.hostname }, sameName('CNAME', name));
  }
  add('spf', { type: 'TXT', name: f.domain, content: spfRecord(f) }, sameTxt(f.domain, 'v=spf1'));
  // The server's own mail (bounces and other notices from MAILER-DAEMON@<hostname>, cron) has the
  // hostname in its From and, with an empty envelope sender, in the SPF identity (HELO, RFC 7208
  // §2.3): SPF for the hostname is what makes it pass DMARC under aspf=s. Only the server sends as it.
  add('spf_mail', { type: 'TXT', name: f.hostname, content: spfRecord({ ipv4: f.ipv4, ipv6: f.ipv6 }) }, sameTxt(f.hostname, 'v=spf1'));
  if (f.dkim) {
    const name = `${f.dkim.selector}._domainkey.${f.domain}`;
    add('dkim', { type: 'TXT', name, content: `v=DKIM1; k=rsa; p=${f.dkim.publicKeyBase64}` }, sameTxt(name, 'v=DKIM1'));
  }
  if (f.dkimEd25519) {
    const name = `${f.dkimEd25519.selector}._domainkey.${f.domain}`;
    add('dkim_ed25519', { type: 'TXT', name, content: `v=DKIM1; k=ed25519; p=${f.dkimEd25519.publicKeyBase64}` }, sameTxt(name, 'v=DKIM1'));
  }
  const dmarcName = `_dmarc.${f.domain}`;
  // Aggregate reports go somewhere by default: the customer's own server (see dmarcRuaAddresses).
  const rua = `; rua=${dmarcRuaAddresses(f)
    .map((a) => `mailto:${a}`)
    .join(',')}`;
  add('dmarc', { type: 'TXT', name: dmarcName, content: `v=DMARC1; p=quarantine; adkim=s; aspf=s${rua}` }, sameTxt(dmarcName, 'v=DMARC1'));
  const stsName = `_mta-sts.${f.domain}`;
  add('mta_sts', { type: 'TXT', name: stsName, content: `v=STSv1; id=${mtaStsId(mtaStsPolicy(f))}` }, sameTxt(stsName, 'v=STSv1'));
  const rptName = `_smtp._tls.${f.domain}`;
  add('tls_rpt', { type: 'TXT', name: rptName, content: `v=TLSRPTv1; rua=mailto:${f.tlsRptRua ?? `postmaster@${f.domain}`}` }, sameTxt(rptName, 'v=TLSRPTv1'));
  // Only the names mailplane serves: a CAA on the apex would restrict every other certificate the customer has.
  const caa = `0 issue "letsencrypt.org"`;
  const caaAt = caaName(f);
  add('caa_issue', { type: 'CAA', name: caaAt, content: caa }, (r) => r.type === 'CAA' && r.name === caaAt && r.content === caa);
  for (const r of mailClientSrvRecords(f)) add(r.purpose, { type: 'SRV', name: r.name, content: r.content }, sameName('SRV', r.name));
  if (f.sshfpSha256Hex) {
    add(
      'sshfp',
      { type: 'SSHFP', name: f.hostname, content: `4 2 ${f.sshfpSha256Hex}` },
      (r) => r.type === 'SSHFP' && r.name === f.hostname && r.content.startsWith('4 2 '),
    );
  }
  return out;
}

export function tlsaRecord(hostname: string, spkiSha256Hex: string): DesiredRecord {
  const name = `_25._tcp.${hostname}`;
  return { purpose: 'tlsa', type: 'TLSA', name, content: `3 1 1 ${spkiSha256Hex}`, sameSlot: sameName('TLSA', name) };
}

/**
 * Whether a record sits where mailplane publishes (so it is mailplane's, not the customer's): the mail
 * host and its TLSA, the webmail, MTA-STS and mail-client setup names and SRV records, the apex MX and SPF, DMARC, TLS-RPT and the DKIM
 * selectors mailplane signs with. Everything else in the zone is the customer's and is never touched.
 */
export function isMailplaneSlot(
  f: Pick<RecordFacts, 'domain' | 'hostname'> & { dkimSelectors: readonly string[] },
  record: { type: string; name: string; content: string },
): boolean {
  const name = record.name.toLowerCase().replace(/\.$/, '');
  const d = f.domain;
  const owned = [
    f.hostname,
    `_25._tcp.${f.hostname}`,
    ...MAIL_SERVER_ALIASES.map((label) => `${label}.${d}`),
    `_mta-sts.${d}`,
    `_smtp._tls.${d}`,
    `_dmarc.${d}`,
    ...mailClientSrvRecords(f).map((r) => r.name),
    ...f.dkimSelectors.map((s) => `${s}._domainkey.${d}`),
  ];
  if (owned.includes(name)) return true;
  if (name !== d) return false;
  return record.type === 'MX' || (record.type === 'TXT' && /^"?v=spf1(\s|"?$)/i.test(record.content.trim()));
}
