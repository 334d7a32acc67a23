/**
 * DnsLookup on node:dns's Resolver (c-ares), pointed at configurable servers:
 * verification must ask the resolvers mailplane is told to trust (or the
 * sandbox DNS emulator), not whatever the host's stub resolver caches.
 */
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { CaaRecord } from 'node:dns';
import type { DnsLookup, LookupResult, LookupType } from './interface.ts';
import { expandIpv6 } from './ip-address.ts';

export interface ResolverLookupOptions {
  /** "ip" or "ip:port" ("[v6]:port" for IPv6 with a port); empty = the system's resolvers. */
  servers: string[];
  /** First-try timeout per query (c-ares backs off on later tries). */
  timeoutMs?: number;
  tries?: number;
}

export function createResolverLookup(opts: ResolverLookupOptions): DnsLookup {
  // A fresh c-ares channel per lookup: a long-lived one learns the server's
  // round-trip time and shrinks its timeout towards it (c-ares ≥ 1.22 server
  // metrics), so after a run of fast cached answers a slower one (a DNSBL
  // cache miss, a resolver under load) times out far below `timeoutMs`.
  const newResolver = () => {
    const resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 });
    if (opts.servers.length > 0) resolver.setServers(opts.servers);
    return resolver;
  };
  return {
    async lookup(name: string, type: LookupType): Promise<LookupResult> {
      try {
        const answers = await query(newResolver(), name, type);
        // c-ares reports "no records" as ENODATA, but guard against an empty success anyway.
        return answers.length > 0 ? { status: 'ok', answers } : { status: 'nodata' };
      } catch (err) {
        return classifyError(err);
      }
    },
  };
}

async function query(resolver: Resolver, name: string, type: LookupType): Promise<string[]> {
  switch (type) {
    case 'A':
      return resolver.resolve4(name);
    case 'AAAA':
      return resolver.resolve6(name);
    case 'MX':
      return (await resolver.resolveMx(name)).map((mx) => `${mx.priority} ${mx.exchange}`);
    // A TXT record is one logical string cut into ≤255-byte character-strings (DKIM keys are
    // longer). node hands each back as latin1 (one char per byte): join the bytes, then read UTF-8.
    case 'TXT':
      return (await resolver.resolveTxt(name)).map((chunks) => Buffer.from(chunks.join(''), 'latin1').toString('utf8'));
    case 'TLSA':
      return (await resolver.resolveTlsa(name)).map((t) => `${t.certUsage} ${t.selector} ${t.match} ${Buffer.from(t.data).toString('hex')}`);
    // An address is accepted in place of its reverse name: callers think in addresses.
    case 'PTR':
      return resolver.resolvePtr(isIP(name) ? reverseName(name) : name);
    case 'CAA':
      return (await resolver.resolveCaa(name)).map(presentCaa);
    case 'NS':
      return resolver.resolveNs(name);
    // c-ares gives the root target of "no such service" as "" (RFC 2782 writes it ".").
    case 'SRV':
      return (await resolver.resolveSrv(name)).map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name.replace(/\.$/, '') || '.'}`);
  }
}

const CAA_TAGS = ['issue', 'issuewild', 'iodef', 'contactemail', 'contactphone'] as const;

function presentCaa(record: CaaRecord): string {
  // node puts the tag in the property name ({ critical: 0, issue: "ca" }).
  const tag = CAA_TAGS.find((t) => typeof record[t] === 'string') ?? 'issue';
  return `${record.critical} ${tag} "${record[tag] ?? ''}"`;
}

/** "192.0.2.10" → "10.2.0.192.in-addr.arpa"; IPv6 → nibbles under ip6.arpa. */
export function reverseName(ip: string): string {
  const expanded = expandIpv6(ip);
  if (expanded) return `${expanded.replaceAll(':', '').split('').reverse().join('.')}.ip6.arpa`;
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

function classifyError(err: unknown): LookupResult {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOTFOUND') return { status: 'nxdomain' };
  if (code === 'ENODATA') return { status: 'nodata' };
  // ETIMEOUT, ESERVFAIL, EREFUSED, ECONNREFUSED, EBADRESP…: the answer is not known.
  if (typeof code === 'string') return { status: 'error', error: code };
  return { status: 'error', error: err instanceof Error ? err.message : String(err) };
}
