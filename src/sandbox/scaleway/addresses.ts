/**
 * Address pools of the Scaleway emulator: only documentation ranges
 * (RFC 5737 for IPv4, RFC 3849 for IPv6), handed out in order and never
 * reused, so a released IP can never come back to haunt a later test.
 */
// 203.0.113.0/24 is left out: Debian's mirror resolves there on the CI machines, and real-host
// mode routes the sandbox's addresses to its containers.
const IPV4_RANGES = ['192.0.2', '198.51.100'] as const;
const HOSTS_PER_RANGE = 254;

export class AddressPool {
  private nextV4 = 0;
  private nextV6 = 1;

  /** Next IPv4 address (x.y.z.1 … x.y.z.254 in each range). */
  ipv4(): string {
    const index = this.nextV4++;
    const range = IPV4_RANGES[Math.floor(index / HOSTS_PER_RANGE)];
    if (!range) throw new Error('IPv4 documentation ranges exhausted');
    return `${range}.${(index % HOSTS_PER_RANGE) + 1}`;
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
