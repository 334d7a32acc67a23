/**
 * Address pools of the Scaleway emulator: only addresses no internet route reaches
 * (RFC 5737 documentation ranges, then RFC 6598 shared space for IPv4; RFC 3849 for IPv6),
 * handed out in order and never reused, so a released IP can never come back to haunt a later test.
 */
// 203.0.113.0/24 is left out (Debian's mirror resolves there on the CI machines) and 198.51.100.0/24
// comes first: real-host mode routes only that range to its containers (192.0.2.0/24 can be the
// machine's own network).
const IPV4_RANGES = ['198.51.100', '192.0.2'] as const;
const HOSTS_PER_RANGE = 254;
/**
 * Past the documentation ranges (508 addresses: fewer than a benchmark's thousand concurrent
 * provisions), the shared address space of RFC 6598, 100.64.0.0/10, which no internet route
 * reaches either; the emulated hosts behind these answer on 127.0.0.1 and real-host mode routes
 * only 198.51.100.0/24, so no test ever sends a packet to them.
 */
const SHARED_SPACE_HOSTS = 1 << 22;

export class AddressPool {
  private nextV4 = 0;
  private nextV6 = 1;
  private nextMac = 1;

  /** Where allocation stands (persisted with the sandbox's state: no address is handed out twice). */
  get counters(): { nextV4: number; nextV6: number; nextMac: number } {
    return { nextV4: this.nextV4, nextV6: this.nextV6, nextMac: this.nextMac };
  }

  set counters(c: { nextV4: number; nextV6: number; nextMac: number }) {
    // Never backwards: an older snapshot must not make a live address come round again.
    this.nextV4 = Math.max(this.nextV4, c.nextV4);
    this.nextV6 = Math.max(this.nextV6, c.nextV6);
    this.nextMac = Math.max(this.nextMac, c.nextMac);
  }

  /** Next MAC in Scaleway's locally administered de:00:… space (unique per server). */
  mac(): string {
    const n = this.nextMac++;
    const hex = (v: number) => v.toString(16).padStart(2, '0');
    return `de:00:01:${hex((n >> 16) & 0xff)}:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`;
  }

  /** Next IPv4 address (x.y.z.1 … x.y.z.254 in each range), the documentation ranges first. */
  ipv4(): string {
    const index = this.nextV4++;
    const range = IPV4_RANGES[Math.floor(index / HOSTS_PER_RANGE)];
    if (range) return `${range}.${(index % HOSTS_PER_RANGE) + 1}`;
    // .0 and .255 of each /24 skipped, as above: some stacks still treat them as special.
    const shared = index - IPV4_RANGES.length * HOSTS_PER_RANGE;
    const block = Math.floor(shared / HOSTS_PER_RANGE);
    if (block >= SHARED_SPACE_HOSTS / 256) throw new Error('IPv4 sandbox ranges exhausted');
    return `100.${64 + (block >> 8)}.${block & 255}.${(shared % HOSTS_PER_RANGE) + 1}`;
  }

  /** Next routed /64 inside 2001:db8::/32, e.g. 2001:db8:0:1::/64. */
  ipv6Prefix(): string {
    const index = this.nextV6++;
    if (index > 0xffffffff) throw new Error('IPv6 documentation range exhausted');
    const hi = Math.floor(index / 0x10000);
    const lo = index % 0x10000;
    return `2001:db8:${hi.toString(16)}:${lo.toString(16)}::/64`;
  }
}
