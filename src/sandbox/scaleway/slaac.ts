/**
 * The address a Scaleway instance really holds inside a routed IPv6 /64: it
 * configures only its SLAAC address (modified EUI-64 of its MAC), never
 * `prefix::1`. The API reports exactly this address in the server's
 * `public_ips` (recorded: MAC de:00:01:27:16:c9 in 2001:bc8:711:4014::/64 →
 * 2001:bc8:711:4014:dc00:1ff:fe27:16c9), and the default IPAM reverse names it.
 */
import { bigIntToIpv6, parseCidr } from '../../providers/compute/scaleway-ipv6.ts';

/** Modified EUI-64 interface id (RFC 4291 appendix A): U/L bit flipped, ff:fe in the middle. */
export function eui64InterfaceId(mac: string): bigint {
  const bytes = mac.split(':').map((b) => parseInt(b, 16));
  if (bytes.length !== 6 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new Error(`invalid MAC address: ${mac}`);
  const [a, b, c, d, e, f] = bytes as [number, number, number, number, number, number];
  const id = [a ^ 0x02, b, c, 0xff, 0xfe, d, e, f];
  return id.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

export function slaacAddress(prefix: string, mac: string): string {
  return bigIntToIpv6(parseCidr(prefix).network | eui64InterfaceId(mac));
}

/** Scaleway's default reverse names: the prefix's, and the SLAAC address's (groups reversed). */
export function defaultIpv6Reverses(prefix: string, slaac: string): { hostname: string; address: string | null }[] {
  const groups = (v: bigint) => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  const net = groups(parseCidr(prefix).network);
  const host = groups(parseCidr(`${slaac}/128`).network);
  return [
    { hostname: `${net.join('-')}.rev.scw.cloud.`, address: null },
    { hostname: `${host.reverse().join('-')}.instances.scw.cloud.`, address: slaac },
  ];
}
