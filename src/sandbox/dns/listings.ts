/**
 * Which addresses the sandbox DNSBL zones list, and with which return codes.
 * IPv6 addresses are compared in their expanded form, so "2001:db8::1" listed
 * is found when the emulator decodes the nibbles of 2001:0db8:0:…:1.
 */
import { canonicalIp } from '../../providers/lookup/ip-address.ts';

export interface DnsblListing {
  ip: string;
  zones: string[] | 'all';
  codes: string[];
}

const DEFAULT_CODE = '127.0.0.2';

export class DnsblListings {
  /** Keyed by the canonical address; the entry keeps the spelling it was listed with. */
  private readonly entries = new Map<string, DnsblListing>();

  /** Lists (or re-lists, replacing the previous entry) an address; every zone and 127.0.0.2 unless told. */
  list(ip: string, opts: { zones?: string[]; codes?: string[] } = {}): void {
    const key = keyOf(ip);
    const codes = opts.codes && opts.codes.length > 0 ? [...opts.codes] : [DEFAULT_CODE];
    const zones = opts.zones ? opts.zones.map(normalZone) : 'all';
    this.entries.set(key, { ip: ip.trim(), zones, codes });
  }

  delist(ip: string): void {
    this.entries.delete(keyOf(ip));
  }

  listedCodes(ip: string, zone: string): string[] {
    const key = canonicalIp(ip);
    const entry = key ? this.entries.get(key) : undefined;
    if (!entry) return [];
    if (entry.zones !== 'all' && !entry.zones.includes(normalZone(zone))) return [];
    return [...entry.codes];
  }

  all(): DnsblListing[] {
    return [...this.entries.values()].map((e) => ({ ip: e.ip, zones: e.zones === 'all' ? 'all' : [...e.zones], codes: [...e.codes] }));
  }
}

function keyOf(ip: string): string {
  const key = canonicalIp(ip);
  if (!key) throw new Error(`not an IP address: ${ip}`);
  return key;
}

const normalZone = (zone: string) => zone.toLowerCase().replace(/\.$/, '');
