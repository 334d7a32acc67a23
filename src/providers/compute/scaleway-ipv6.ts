/**
 * Small IPv6 arithmetic for routed /64 prefixes (no dependency needed):
 * Scaleway hands out a prefix, mailplane uses its first address (::1) and
 * sets PTRs for addresses inside it.
 */

export function ipv6ToBigInt(address: string): bigint {
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  if (address.split('::').length > 2) throw new Error(`invalid IPv6 address: ${address}`);
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if ((tail === undefined && missing !== 0) || missing < 0) throw new Error(`invalid IPv6 address: ${address}`);
  const groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`invalid IPv6 address: ${address}`);
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

/** RFC 5952 canonical text form. */
export function bigIntToIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseCidr(cidr: string): { network: bigint; length: number } {
  const [addr = '', len] = cidr.split('/');
  const length = len === undefined ? 128 : Number(len);
  if (!Number.isInteger(length) || length < 0 || length > 128) throw new Error(`invalid IPv6 prefix: ${cidr}`);
  const mask = length === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - length)) - 1n);
  return { network: ipv6ToBigInt(addr) & mask, length };
}

/** First usable address of a prefix: 2001:db8:1:2::/64 → 2001:db8:1:2::1. */
export function firstAddressOf(prefix: string): string {
  return bigIntToIpv6(parseCidr(prefix).network + 1n);
}

export function prefixContains(prefix: string, address: string): boolean {
  const { network, length } = parseCidr(prefix);
  const shift = BigInt(128 - length);
  return ipv6ToBigInt(address) >> shift === network >> shift;
}

/** Same address whatever the spelling (2001:DB8::0001 equals 2001:db8::1). */
export function sameIpv6(a: string, b: string): boolean {
  try {
    return ipv6ToBigInt(a) === ipv6ToBigInt(b);
  } catch {
    return false;
  }
}
