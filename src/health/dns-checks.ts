/**
 * The DNS side of a server's health: delegation, every published record,
 * SPF, DKIM, DMARC, MTA-STS, DNSSEC, TLSA and forward-confirmed reverse DNS.
 * Every answer comes from the configured resolvers (providers/lookup), i.e.
 * what the rest of the internet sees, not what Cloudflare's API says.
 */
import { mtaStsId, mtaStsPolicy } from '../../provisioning/dns-records.ts';
import type { ServerRow } from '../servers/views.ts';
import { expectedAnswer } from '../servers/dns-view.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';
import { canonicalIp } from '../providers/lookup/ip-address.ts';
import { result, type CheckResult } from './check-types.ts';
import type { ServiceProbe } from './probe.ts';
import { evaluateSpf } from './spf.ts';

export const normAnswer = (s: string) => s.trim().replace(/\.$/, '').replace(/^"|"$/g, '').toLowerCase();

export interface DnsFacts {
  server: ServerRow;
  records: Array<{ purpose: string; type: string; name: string; content: string; priority: number | null }>;
  dkim: { selector: string; publicKey: string } | null;
  ips: Array<{ address: string; family: 'ipv4' | 'ipv6' }>;
}

export async function nameserversCheck(lookup: DnsLookup, f: DnsFacts): Promise<CheckResult> {
  const wanted = (f.server.nameServers ?? []).map(normAnswer).sort();
  if (wanted.length === 0) return result('nameservers', 'unknown', 'The DNS zone is not created yet.', 'Wait for provisioning to publish DNS.');
  const r = await lookup.lookup(f.server.domain, 'NS');
  if (r.status === 'error')
    return result('nameservers', 'unknown', `Could not look up the nameservers (${r.error}).`, 'Nothing to do now; the next check will try again.');
  const seen = r.status === 'ok' ? r.answers.map(normAnswer).sort() : [];
  const ok = wanted.every((n) => seen.includes(n)) && seen.every((n) => wanted.includes(n));
  return result(
    'nameservers',
    ok ? 'pass' : 'fail',
    ok
      ? `${f.server.domain} is delegated to ${wanted.join(', ')}.`
      : `${f.server.domain} is delegated to ${seen.join(', ') || 'nothing'}, not to ${wanted.join(', ')}.`,
    `At your registrar, set the nameservers of ${f.server.domain} to ${wanted.join(' and ')}.`,
    { expected: wanted, seen },
  );
}

export async function recordsCheck(lookup: DnsLookup, f: DnsFacts): Promise<CheckResult> {
  const wrong: string[] = [];
  let checked = 0;
  for (const r of f.records) {
    const { type, expected } = expectedAnswer(r, f.server);
    if (!type) continue;
    checked++;
    const live = await lookup.lookup(r.name, type);
    if (live.status !== 'ok' || !live.answers.some((a) => normAnswer(a) === normAnswer(expected))) wrong.push(`${r.type} ${r.name}`);
  }
  if (checked === 0) return result('dns_records', 'unknown', 'No DNS record is published yet.', 'Wait for provisioning to publish DNS.');
  return result(
    'dns_records',
    wrong.length === 0 ? 'pass' : 'fail',
    wrong.length === 0
      ? `All ${checked} records answer as published.`
      : `${wrong.length} of ${checked} records do not answer as published: ${wrong.join(', ')}.`,
    'Check that the nameservers point to us and remove any record you added for these names at another DNS host.',
    { mismatched: wrong },
  );
}

export async function spfCheck(lookup: DnsLookup, f: DnsFacts): Promise<CheckResult> {
  if (f.ips.length === 0) return result('spf', 'unknown', 'The server has no IP address yet.', 'Wait for provisioning to allocate addresses.');
  const verdicts = await Promise.all(f.ips.map(async (ip) => ({ ip: ip.address, spf: await evaluateSpf(lookup, f.server.domain, ip.address) })));
  const failing = verdicts.filter((v) => v.spf !== 'pass');
  if (failing.some((v) => v.spf === 'temperror'))
    return result('spf', 'unknown', 'Could not evaluate SPF (DNS error).', 'Nothing to do now; the next check will try again.', { verdicts });
  return result(
    'spf',
    failing.length === 0 ? 'pass' : 'fail',
    failing.length === 0
      ? `SPF gives "pass" for ${verdicts.map((v) => v.ip).join(' and ')}.`
      : `SPF gives ${failing.map((v) => `"${v.spf}" for ${v.ip}`).join(', ')}.`,
    `Keep a single SPF record on ${f.server.domain}, the one listed on the DNS page; add your other senders under "Other senders (SPF)" there, not in a second record.`,
    { verdicts },
  );
}

export async function dkimCheck(lookup: DnsLookup, f: DnsFacts): Promise<CheckResult> {
  if (!f.dkim) return result('dkim', 'unknown', 'No DKIM key is generated yet.', 'Wait for provisioning to generate the key.');
  const name = `${f.dkim.selector}._domainkey.${f.server.domain}`;
  const r = await lookup.lookup(name, 'TXT');
  if (r.status === 'error') return result('dkim', 'unknown', `Could not look up ${name}.`, 'Nothing to do now; the next check will try again.');
  const key = (txt: string) => /(?:^|;)\s*p=([A-Za-z0-9+/=\s]*)/.exec(txt.replace(/^"|"$/g, ''))?.[1]?.replace(/\s+/g, '') ?? null;
  const published = r.status === 'ok' ? r.answers.map(key).filter((k): k is string => k !== null) : [];
  const signing = f.dkim.publicKey.replace(/-----[^-]+-----|\s+/g, '');
  const ok = published.includes(signing);
  return result(
    'dkim',
    ok ? 'pass' : 'fail',
    ok
      ? `${name} publishes the key the server signs with.`
      : published.length
        ? `${name} publishes a different key than the server signs with.`
        : `${name} has no DKIM key.`,
    `Publish the DKIM record exactly as shown on the DNS page (name ${name}).`,
    { name },
  );
}

export async function dmarcCheck(lookup: DnsLookup, f: DnsFacts): Promise<CheckResult> {
  const name = `_dmarc.${f.server.domain}`;
  const r = await lookup.lookup(name, 'TXT');
  if (r.status === 'error') return result('dmarc', 'unknown', `Could not look up ${name}.`, 'Nothing to do now; the next check will try again.');
  const record = r.status === 'ok' ? r.answers.map((a) => a.replace(/^"|"$/g, '')).find((a) => /^v=DMARC1\s*;/i.test(a)) : undefined;
  const policy = record ? /;\s*p=(none|quarantine|reject)\b/i.exec(record)?.[1]?.toLowerCase() : undefined;
  if (!record || !policy)
    return result('dmarc', 'fail', `${name} has no DMARC record with a policy.`, `Publish the DMARC record shown on the DNS page at ${name}.`);
  return result(
    'dmarc',
    policy === 'none' ? 'warn' : 'pass',
    `DMARC policy is "${policy}".`,
    'A policy of "none" only reports: set p=quarantine or p=reject once your reports look clean.',
    { policy },
  );
}

export async function mtaStsCheck(lookup: DnsLookup, probe: ServiceProbe, f: DnsFacts): Promise<CheckResult> {
  const name = `_mta-sts.${f.server.domain}`;
  const currentId = mtaStsId(mtaStsPolicy({ hostname: f.server.hostname }));
  const [txt, policy] = await Promise.all([lookup.lookup(name, 'TXT'), probe.mtaStsPolicy(f.server.domain)]);
  const id = txt.status === 'ok' ? txt.answers.map((a) => /id=([A-Za-z0-9]+)/.exec(a)?.[1]).find(Boolean) : undefined;
  if (!policy)
    return result(
      'mta_sts',
      'fail',
      `No policy is served at https://mta-sts.${f.server.domain}/.well-known/mta-sts.txt.`,
      'Keep the mta-sts CNAME from the DNS page; if it is there, contact support.',
    );
  if (!/^mode:\s*enforce$/m.test(policy) || !policy.includes(`mx: ${f.server.hostname}`)) {
    return result(
      'mta_sts',
      'fail',
      'The served policy does not name this server in enforce mode.',
      'Contact support: the policy file on the server needs to be reinstalled.',
    );
  }
  return result(
    'mta_sts',
    id === currentId ? 'pass' : 'fail',
    id === currentId ? `Policy served in enforce mode; ${name} carries its current id.` : `${name} carries id ${id ?? 'none'}, not the current ${currentId}.`,
    `Publish the MTA-STS TXT record shown on the DNS page at ${name}.`,
    { id: id ?? null, currentId },
  );
}

export function dnssecCheck(f: DnsFacts): CheckResult {
  const active = f.server.dnssecStatus === 'active';
  return result(
    'dnssec',
    active ? 'pass' : 'warn',
    active ? 'DNSSEC is active for the zone.' : `DNSSEC is ${f.server.dnssecStatus ?? 'not set up'}.`,
    f.server.dnssecDs
      ? `Add the DS record ${f.server.dnssecDs} at your registrar; mailplane checks every 10 minutes and publishes TLSA (DANE) once DNSSEC is active.`
      : 'Wait for the zone to be active; the DS record will then be shown on the DNS page.',
  );
}

export async function tlsaCheck(lookup: DnsLookup, probe: ServiceProbe, f: DnsFacts): Promise<CheckResult> {
  const name = `_25._tcp.${f.server.hostname}`;
  if (f.server.dnssecStatus !== 'active')
    return result(
      'tlsa',
      'warn',
      'DANE needs DNSSEC, which is not active yet.',
      'Add the DS record shown on the DNS page at your registrar; TLSA is published once DNSSEC is active.',
    );
  // Port 25 after STARTTLS: the certificate DANE senders compare with this record.
  const cert = f.server.ipv4 ? await probe.certificate(f.server.ipv4, 25, f.server.hostname, 'starttls') : null;
  const r = await lookup.lookup(name, 'TLSA');
  const answers = r.status === 'ok' ? r.answers.map(normAnswer) : [];
  const pin = cert ? `3 1 1 ${cert.spkiSha256}` : f.server.tlsSpkiSha256 ? `3 1 1 ${f.server.tlsSpkiSha256}` : null;
  const ok = pin !== null && answers.includes(pin.toLowerCase());
  return result(
    'tlsa',
    ok ? 'pass' : 'fail',
    ok ? `${name} matches the certificate's key.` : `${name} ${answers.length ? 'does not match' : 'is missing for'} the certificate's key.`,
    'Ask support to re-run the publish_tlsa step; mail from DANE senders is refused while this fails.',
    { expected: pin, seen: answers },
  );
}

export async function ptrCheck(lookup: DnsLookup, f: DnsFacts, family: 'ipv4' | 'ipv6'): Promise<CheckResult> {
  const name = family === 'ipv4' ? 'ptr_ipv4' : 'ptr_ipv6';
  const ip = f.ips.find((i) => i.family === family);
  if (!ip)
    return result(name, 'unknown', `The server has no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address yet.`, 'Wait for provisioning to allocate addresses.');
  const [ptr, forward] = await Promise.all([lookup.lookup(ip.address, 'PTR'), lookup.lookup(f.server.hostname, family === 'ipv4' ? 'A' : 'AAAA')]);
  if (ptr.status === 'error' || forward.status === 'error')
    return result(name, 'unknown', `Could not look up the reverse DNS of ${ip.address}.`, 'Nothing to do now; the next check will try again.');
  const names = ptr.status === 'ok' ? ptr.answers.map(normAnswer) : [];
  const addrs = forward.status === 'ok' ? forward.answers.map((a) => canonicalIp(a)) : [];
  const ok = names.includes(normAnswer(f.server.hostname)) && addrs.includes(canonicalIp(ip.address));
  return result(
    name,
    ok ? 'pass' : 'fail',
    ok
      ? `${ip.address} points to ${f.server.hostname}, which points back.`
      : `${ip.address} points to ${names.join(', ') || 'no name'}; forward-confirmed reverse DNS fails.`,
    'Ask support to re-run the set_ptr step; many receivers reject mail from addresses without matching reverse DNS.',
    { address: ip.address, ptr: names },
  );
}
