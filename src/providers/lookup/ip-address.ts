/**
 * IP address forms shared by the DNSBL checker and the sandbox DNS emulator.
 * IPv6 has many spellings of one address ("2001:db8::1", "2001:0DB8:0:0::1",
 * "::ffff:192.0.2.1"); DNSBL query names and listings compare the fully
 * expanded form, where each address has exactly one spelling.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** "2001:db8::1" → "2001:0db8:0000:0000:0000:0000:0000:0001"; null when not IPv6. */
export function expandIpv6(ip: string): string | null {
  if (!isIPv6(ip)) return null;
  let text = ip.toLowerCase();
  // An embedded IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((g) => g.padStart(4, '0')).join(':');
}

/** The one spelling of an address used for comparison: IPv4 as is, IPv6 expanded. */
export function canonicalIp(ip: string): string | null {
  const trimmed = ip.trim();
  if (isIPv4(trimmed)) return trimmed;
  return expandIpv6(trimmed);
}

/** "2001:0db8:…:0001" (expanded) → "2001:db8::1". */
export function compressIpv6(expanded: string): string {
  const groups = expanded.split(':').map((g) => g.replace(/^0+(?=.)/, ''));
  let best = { start: -1, len: 1 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.len).join(':')}`;
}
