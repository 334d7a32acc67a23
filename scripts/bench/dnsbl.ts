/**
 * DNSBL check: the product's checker (createDnsblChecker) against the DNS
 * emulator with a different latency per zone, 2 IPs × every default zone at
 * once (as check_blacklists does for the IPv4 and the IPv6). The figure is
 * wall time divided by the slowest single answer, each measured in the same
 * run: 1.0 means every query was in flight at the same time.
 */
import { DnsEmulator } from '../../src/sandbox/dns/emulator.ts';
import { DnsblListings } from '../../src/sandbox/dns/listings.ts';
import { createDnsblChecker } from '../../src/providers/lookup/dnsbl.ts';
import { DEFAULT_DNSBL_ZONES } from '../../src/providers/lookup/dnsbl-zones.ts';
import { median, round } from './stats.ts';
import { REALISTIC } from './profile.ts';

export interface DnsblResult {
  ips: string[];
  zones: number;
  rounds: number;
  /** Median over the rounds of wall(all checks) / slowest single answer measured in that round. */
  ratio: number;
  medianWallMs: number;
  medianSlowestAnswerMs: number;
  zoneLatencyMs: Record<string, number>;
  verdicts: Record<string, string>;
}

const IPS = ['192.0.2.10', '2001:db8:0:1::1'];

export async function benchDnsbl(rounds: number): Promise<DnsblResult> {
  const zones = DEFAULT_DNSBL_ZONES;
  const listings = new DnsblListings();
  // One listing so the "listed" path (answer decoding, meanings) is part of the measurement.
  listings.list(IPS[0]!, { zones: ['bl.spamcop.net'] });
  const dns = new DnsEmulator({ answer: () => null, dnsbl: { zones, listedCodes: (ip, zone) => listings.listedCodes(ip, zone) } });
  await dns.start();
  try {
    for (const zone of zones) dns.setLatency(REALISTIC.dnsblZoneMs[zone] ?? 100, zone);
    const checker = createDnsblChecker({ servers: [dns.address], zones });
    const slowestZone = [...zones].sort((a, b) => (REALISTIC.dnsblZoneMs[b] ?? 100) - (REALISTIC.dnsblZoneMs[a] ?? 100))[0]!;
    const single = createDnsblChecker({ servers: [dns.address], zones: [slowestZone] });
    await checker.check(IPS[0]!); // warm-up: module and socket set-up are not the subject
    const ratios: number[] = [];
    const walls: number[] = [];
    const slowest: number[] = [];
    let verdicts: Record<string, string> = {};
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      await single.check(IPS[0]!);
      const slowestMs = performance.now() - t;
      t = performance.now();
      const results = await Promise.all(IPS.map((ip) => checker.check(ip)));
      const wallMs = performance.now() - t;
      ratios.push(wallMs / slowestMs);
      walls.push(wallMs);
      slowest.push(slowestMs);
      verdicts = Object.fromEntries(results.flatMap((r, j) => r.map((v) => [`${IPS[j]} ${v.zone}`, v.status])));
    }
    return {
      ips: IPS,
      zones: zones.length,
      rounds,
      ratio: round(median(ratios), 3),
      medianWallMs: round(median(walls), 1),
      medianSlowestAnswerMs: round(median(slowest), 1),
      zoneLatencyMs: Object.fromEntries(zones.map((z) => [z, REALISTIC.dnsblZoneMs[z] ?? 100])),
      verdicts,
    };
  } finally {
    await dns.stop();
  }
}
