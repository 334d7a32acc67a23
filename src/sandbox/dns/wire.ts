/**
 * Putting a reply on the wire the way a resolver expects it: the question
 * echoed, EDNS echoed when the query used it, and UDP answers that do not fit
 * the client's buffer (512 bytes without EDNS) sent empty with TC set, so the
 * client retries over TCP (RFC 1035 §4.2.1, RFC 7766).
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import type { Rcode, Reply } from './responder.ts';

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const CLASSIC_UDP_LIMIT = 512;
const OUR_EDNS_PAYLOAD = 1232;

export function encodeReply(query: DecodedPacket, reply: Reply, transport: 'udp' | 'tcp'): Buffer {
  const opt = query.additionals?.find((a) => a.type === 'OPT');
  const additionals: Answer[] = opt
    ? [{ name: '.', type: 'OPT', udpPayloadSize: OUR_EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
    : [];
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | RCODES[reply.rcode];
  const packet: Packet = { type: 'response', id: query.id ?? 0, flags, questions: query.questions ?? [], answers: reply.answers, additionals };
  const full = dnsPacket.encode(packet);
  if (transport === 'tcp') return full;
  const clientLimit = opt && opt.type === 'OPT' ? Math.max(CLASSIC_UDP_LIMIT, Math.min(opt.udpPayloadSize, OUR_EDNS_PAYLOAD)) : CLASSIC_UDP_LIMIT;
  if (full.length <= clientLimit) return full;
  return dnsPacket.encode({ ...packet, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

/** True when `name` is `zone` or a name under it (case and trailing dot ignored). */
export function zoneMatches(name: string, zone: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const z = zone.toLowerCase().replace(/\.$/, '');
  return n === z || n.endsWith(`.${z}`);
}
