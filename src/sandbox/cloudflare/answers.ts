/**
 * What an authoritative Cloudflare nameserver would answer, in presentation
 * format, for the sandbox DNS emulator: null when no zone covers the name
 * (not ours: REFUSED/NXDOMAIN upstream), [] when the zone has no data of that
 * type, TXT as the joined logical string, MX as "10 host", and a CNAME
 * followed (within the emulated zones) for every other type.
 */
import { fromTxtContent } from '../../providers/dns/txt.ts';
import type { CloudflareState } from './state.ts';
import type { CfRecord } from './wire.ts';

const MAX_CNAME_CHAIN = 8;

function present(record: CfRecord): string {
  switch (record.type) {
    case 'TXT':
      return fromTxtContent(record.content);
    case 'MX':
    case 'SRV':
      return `${record.priority ?? 0} ${record.content}`;
    default:
      return record.content;
  }
}

/** Until the nameservers move, the domain's previous DNS host answers (as the sandbox was told it does). */
function previousHostAnswers(state: CloudflareState, name: string, wanted: string, hops = 0): string[] | null {
  const domain = [...state.publicDns.keys()].filter((d) => name === d || name.endsWith(`.${d}`)).sort((a, b) => b.length - a.length)[0];
  if (!domain) return null;
  const atName = state.publicDns.get(domain)!.filter((r) => r.name === name);
  const direct = atName.filter((r) => r.type === wanted);
  if (direct.length > 0) return direct.map((r) => (r.type === 'MX' || r.type === 'SRV' ? `${r.priority ?? 0} ${r.content}` : r.content));
  const alias = atName.find((r) => r.type === 'CNAME');
  if (!alias || wanted === 'CNAME' || hops >= MAX_CNAME_CHAIN) return [];
  const target = alias.content.toLowerCase();
  const zone = state.findZoneFor(target);
  return (zone?.status === 'active' ? answers(state, target, wanted) : previousHostAnswers(state, target, wanted, hops + 1)) ?? [];
}

export function answers(state: CloudflareState, name: string, type: string): string[] | null {
  let current = name.toLowerCase().replace(/\.$/, '');
  const wanted = type.toUpperCase();
  const authoritative = state.findZoneFor(current);
  // A pending zone is not delegated to Cloudflare yet: public resolvers never reach its records.
  if (authoritative?.status !== 'active') return previousHostAnswers(state, current, wanted);
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const zone = state.findZoneFor(current);
    // A CNAME pointing outside the emulated (active) zones: we know no more than the alias.
    if (zone?.status !== 'active') return [];
    const atName = state.zoneRecords(zone.id).filter((r) => r.name === current);
    if (wanted === 'NS' && current === zone.name && !atName.some((r) => r.type === 'NS')) return [...zone.name_servers];
    const direct = atName.filter((r) => r.type === wanted);
    if (direct.length > 0) return direct.map(present);
    const alias = atName.find((r) => r.type === 'CNAME');
    if (!alias || wanted === 'CNAME') return [];
    current = alias.content;
  }
  return [];
}
