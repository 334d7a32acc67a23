/**
 * What the sandbox DNS server answers to one question, independent of the
 * transport: names under a DNSBL zone are decoded back to an address and
 * answered from the listings; every other name from the `answer` source
 * (the Cloudflare emulator's zones and the Scaleway emulator's PTRs), whose
 * presentation-format values are turned into wire records here.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Answer, Question } from 'dns-packet';
import { compressIpv6 } from '../../providers/lookup/ip-address.ts';

export interface DnsAnswerSource {
  /** Presentation-format values; null = no such name (NXDOMAIN), [] = no data of that type. */
  answer(name: string, type: string): string[] | null;
  dnsbl: { zones: readonly string[]; listedCodes(ip: string, zone: string): string[] };
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'NOTIMP' | 'FORMERR';

export interface Reply {
  rcode: Rcode;
  answers: Answer[];
}

// Sandbox state changes under the tests' feet (a listing added, a record
// published); TTL 0 keeps any caching resolver from serving a stale answer.
const TTL = 0;

export function respond(source: DnsAnswerSource, question: Question): Reply {
  const name = question.name.toLowerCase().replace(/\.$/, '');
  const zone = source.dnsbl.zones.map((z) => z.toLowerCase().replace(/\.$/, '')).find((z) => name.endsWith(`.${z}`));
  if (zone) return respondDnsbl(source, question, name, zone);
  const values = source.answer(name, question.type);
  if (values === null) return { rcode: 'NXDOMAIN', answers: [] };
  const answers = values.map((value) => toAnswer(question.name, question.type, value)).filter((a) => a !== null);
  return { rcode: 'NOERROR', answers };
}

function respondDnsbl(source: DnsAnswerSource, question: Question, name: string, zone: string): Reply {
  const ip = addressFromDnsblName(name.slice(0, -(zone.length + 1)));
  const codes = ip ? source.dnsbl.listedCodes(ip, zone) : [];
  if (codes.length === 0) return { rcode: 'NXDOMAIN', answers: [] };
  // Real lists also publish a TXT reason next to the A codes.
  if (question.type === 'TXT') return { rcode: 'NOERROR', answers: [toAnswer(question.name, 'TXT', `Listed by the mailplane sandbox on ${zone}`)!] };
  if (question.type !== 'A') return { rcode: 'NOERROR', answers: [] };
  return { rcode: 'NOERROR', answers: codes.map((code) => toAnswer(question.name, 'A', code)!) };
}

/** "1.2.0.192" → "192.0.2.1"; 32 reversed nibbles → compressed IPv6; anything else → null. */
export function addressFromDnsblName(labels: string): string | null {
  const parts = labels.split('.');
  if (parts.length === 4) {
    const v4 = parts.reverse().join('.');
    return isIPv4(v4) ? v4 : null;
  }
  if (parts.length === 32 && parts.every((p) => /^[0-9a-f]$/.test(p))) {
    const nibbles = parts.reverse().join('');
    const v6 = compressIpv6(nibbles.match(/.{4}/g)!.join(':'));
    return isIPv6(v6) ? v6 : null;
  }
  return null;
}

/** One presentation value → a wire record; types we cannot encode are left out (NODATA). */
function toAnswer(name: string, type: string, value: string): Answer | null {
  const base = { name, ttl: TTL, class: 'IN' as const };
  switch (type) {
    case 'A':
      if (!isIPv4(value)) throw new Error(`bad A value: ${value}`);
      return { ...base, type: 'A', data: value };
    case 'AAAA':
      if (!isIPv6(value)) throw new Error(`bad AAAA value: ${value}`);
      return { ...base, type: 'AAAA', data: value };
    case 'MX': {
      const m = /^(\d+)\s+(\S+?)\.?$/.exec(value.trim());
      if (!m) throw new Error(`bad MX value: ${value}`);
      return { ...base, type: 'MX', data: { preference: Number(m[1]), exchange: m[2]! } };
    }
    case 'TXT':
      return { ...base, type: 'TXT', data: characterStrings(value) };
    case 'TLSA': {
      const m = /^(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-fA-F\s]+)$/.exec(value.trim());
      if (!m) throw new Error(`bad TLSA value: ${value}`);
      const certificate = Buffer.from(m[4]!.replace(/\s/g, ''), 'hex');
      return { ...base, type: 'TLSA', data: { usage: Number(m[1]), selector: Number(m[2]), matchingType: Number(m[3]), certificate } };
    }
    case 'CAA': {
      const m = /^(\d+)\s+(issue|issuewild|iodef)\s+"?(.*?)"?$/i.exec(value.trim());
      if (!m) throw new Error(`bad CAA value: ${value}`);
      const tag = m[2]!.toLowerCase() as 'issue' | 'issuewild' | 'iodef';
      return { ...base, type: 'CAA', data: { flags: Number(m[1]), tag, value: m[3]! } };
    }
    case 'PTR':
    case 'NS':
    case 'CNAME':
      return { ...base, type, data: value.trim().replace(/\.$/, '') };
    case 'SRV': {
      const m = /^(\d+)\s+(\d+)\s+(\d+)\s+(\S+)$/.exec(value.trim());
      if (!m) throw new Error(`bad SRV value: ${value}`);
      // "." (no such service) is the root name: dns-packet writes it as an empty name.
      const target = m[4] === '.' ? '.' : m[4]!.replace(/\.$/, '');
      return { ...base, type: 'SRV', data: { priority: Number(m[1]), weight: Number(m[2]), port: Number(m[3]), target } };
    }
    default:
      return null;
  }
}

/**
 * A TXT value longer than 255 bytes goes out as several character-strings
 * (RFC 7208 §3.3, RFC 6376 §3.6.2.2); resolvers hand them back to be joined.
 * Cuts never fall inside a UTF-8 sequence.
 */
export function characterStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const chunks: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + 255, bytes.length);
    while (end < bytes.length && end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks.length > 0 ? chunks : [Buffer.alloc(0)];
}
