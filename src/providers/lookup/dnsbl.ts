/**
 * DNS blacklist checks: one A query per zone for the address's reversed name,
 * every zone at once. Only a definite answer counts: NXDOMAIN is clean, a
 * 127.0.0.0/8 answer is a listing, and everything else (timeouts, SERVFAIL,
 * refusals, Spamhaus-style 127.255.255.x error codes, answers outside 127/8
 * from a resolver that rewrites NXDOMAIN) is unknown — an IP is never called
 * clean because a list could not be asked.
 */
import { isIPv4 } from 'node:net';
import type { BlacklistChecker, DnsblVerdict, LookupResult } from './interface.ts';
import { dnsblCodeMeaning, dnsblQueryErrorMeaning } from './dnsbl-zones.ts';
import { expandIpv6 } from './ip-address.ts';
import { createResolverLookup } from './resolver.ts';

export interface DnsblCheckerOptions {
  servers: string[];
  zones: readonly string[];
  timeoutMs?: number;
  tries?: number;
}

/** "192.0.2.1" → "1.2.0.192.<zone>"; IPv6 → the 32 nibbles of the expanded address, reversed. */
export function dnsblQueryName(ip: string, zone: string): string {
  const bareZone = zone.toLowerCase().replace(/\.$/, '');
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.${bareZone}`;
  const expanded = expandIpv6(ip);
  if (!expanded) throw new Error(`not an IP address: ${ip}`);
  return `${expanded.replaceAll(':', '').split('').reverse().join('.')}.${bareZone}`;
}

export function createDnsblChecker(opts: DnsblCheckerOptions): BlacklistChecker {
  const lookup = createResolverLookup({
    servers: opts.servers,
    timeoutMs: opts.timeoutMs ?? 3000,
    tries: opts.tries ?? 2,
  });
  return {
    zones: opts.zones,
    async check(ip: string): Promise<DnsblVerdict[]> {
      const names = opts.zones.map((zone) => dnsblQueryName(ip, zone));
      const results = await Promise.all(names.map((name) => lookup.lookup(name, 'A')));
      return opts.zones.map((zone, i) => classify(zone, results[i] ?? { status: 'error', error: 'no result' }));
    },
  };
}

function classify(zone: string, result: LookupResult): DnsblVerdict {
  switch (result.status) {
    // NODATA: the name exists (e.g. only a TXT) but no A record: not listed.
    case 'nxdomain':
    case 'nodata':
      return { zone, status: 'clean' };
    case 'error':
      return { zone, status: 'unknown', error: result.error };
  }
  const codes = [...new Set(result.answers)].sort(compareAddresses);
  const queryErrors = codes.filter((c) => c.startsWith('127.255.255.'));
  if (queryErrors.length > 0) return { zone, status: 'unknown', error: queryErrors.map(dnsblQueryErrorMeaning).join('; ') };
  const foreign = codes.filter((c) => !c.startsWith('127.'));
  if (foreign.length > 0) {
    return { zone, status: 'unknown', error: `answer outside 127.0.0.0/8 (${foreign.join(', ')}): the resolver rewrites answers` };
  }
  return { zone, status: 'listed', codes, meaning: codes.map((code) => dnsblCodeMeaning(zone, code)) };
}

function compareAddresses(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
