/**
 * A small SPF evaluator (RFC 7208) for one question: does the domain's policy
 * give `pass` for this server's own IPs? It follows ip4, ip6, a, mx, include
 * and redirect with the RFC's limit of 10 DNS-querying terms; anything it
 * cannot decide is `permerror`/`temperror`, never a guess.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { DnsLookup } from '../providers/lookup/interface.ts';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

const QUALIFIER: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

function inNetwork(ip: string, network: string): boolean {
  const [addr, bits] = network.split('/');
  if (!addr) return false;
  const family = isIPv4(addr) ? 'ipv4' : 'ipv6';
  if ((family === 'ipv4') !== isIPv4(ip)) return false;
  const list = new BlockList();
  try {
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
    return list.check(ip, family);
  } catch {
    return false;
  }
}

export async function evaluateSpf(lookup: DnsLookup, domain: string, ip: string, budget = { lookups: 0 }): Promise<SpfResult> {
  const txt = await lookup.lookup(domain, 'TXT');
  if (txt.status === 'error') return 'temperror';
  const records = txt.status === 'ok' ? txt.answers.filter((a) => /^v=spf1(\s|$)/i.test(a.replace(/^"|"$/g, ''))) : [];
  if (records.length === 0) return 'none';
  if (records.length > 1) return 'permerror';
  const terms = records[0]!.replace(/^"|"$/g, '').split(/\s+/).slice(1).filter(Boolean);
  let redirect: string | null = null;
  for (const term of terms) {
    const m = /^([+\-~?]?)([a-z0-9]+)(?:[:=](.*))?$/i.exec(term);
    if (!m) return 'permerror';
    const qualifier = QUALIFIER[m[1] || '+']!;
    const name = m[2]!.toLowerCase();
    const arg = m[3];
    let matched = false;
    if (name === 'redirect') {
      redirect = arg ?? null;
      continue;
    }
    if (name === 'exp') continue;
    if (['a', 'mx', 'include', 'exists', 'ptr'].includes(name) && ++budget.lookups > 10) return 'permerror';
    switch (name) {
      case 'all':
        matched = true;
        break;
      case 'ip4':
      case 'ip6':
        matched = arg !== undefined && inNetwork(ip, arg);
        break;
      case 'a':
      case 'mx': {
        const target = arg?.split('/')[0] || domain;
        const hosts =
          name === 'mx' ? await lookup.lookup(target, 'MX').then((r) => (r.status === 'ok' ? r.answers.map((a) => a.split(/\s+/)[1] ?? '') : [])) : [target];
        for (const host of hosts.slice(0, 10)) {
          const r = await lookup.lookup(host.replace(/\.$/, ''), isIPv4(ip) ? 'A' : 'AAAA');
          if (r.status === 'error') return 'temperror';
          if (r.status === 'ok' && r.answers.some((a) => inNetwork(ip, a))) matched = true;
        }
        break;
      }
      case 'include': {
        if (!arg) return 'permerror';
        const inner = await evaluateSpf(lookup, arg, ip, budget);
        if (inner === 'temperror') return 'temperror';
        if (inner === 'permerror' || inner === 'none') return 'permerror';
        matched = inner === 'pass';
        break;
      }
      default:
        return 'permerror';
    }
    if (matched) return qualifier;
  }
  if (redirect) {
    if (++budget.lookups > 10) return 'permerror';
    const r = await evaluateSpf(lookup, redirect, ip, budget);
    return r === 'none' ? 'permerror' : r;
  }
  return 'neutral';
}
