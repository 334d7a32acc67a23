/**
 * The customer's own SPF terms: the senders besides their mail server that
 * send as their domain (a CRM's `include:`, an invoicing tool's `ip4:`).
 * mailplane publishes one SPF record, its server's addresses plus these terms,
 * so nothing of an SPF record the domain already had is lost when it moves.
 *
 * RFC 7208 §4.6.4: evaluating a record may cost at most 10 DNS-querying terms
 * (include, a, mx, ptr, exists, redirect), counted through every include; past
 * that, receivers answer permerror and the domain's mail fails SPF. So a set
 * of terms that would go over is refused, with the count.
 */
import { ValidationError } from '../errors.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';

export const SPF_LOOKUP_LIMIT = 10;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i;
const LOOKUP_TERMS = new Set(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);

/** One term as the customer may give it; null when it is not one mailplane accepts. */
export function normalizeSpfTerm(raw: string): string | null {
  const term = raw.trim().toLowerCase();
  const m = /^([+~?-]?)(include|a|mx|ip4|ip6|exists)(?:([:/])(.+))?$/.exec(term);
  if (!m) return null;
  const [, qualifier = '', name, sep, arg] = m;
  if (name === 'include' || name === 'exists') {
    if (sep !== ':' || !arg || !DOMAIN.test(arg)) return null;
  } else if (name === 'ip4') {
    if (
      sep !== ':' ||
      !arg ||
      !/^(\d{1,3}\.){3}\d{1,3}(\/(\d|[12]\d|3[0-2]))?$/.test(arg) ||
      arg
        .split('/')[0]!
        .split('.')
        .some((o) => Number(o) > 255)
    )
      return null;
  } else if (name === 'ip6') {
    if (sep !== ':' || !arg || !/^[0-9a-f:]+(\/\d{1,3})?$/.test(arg) || !arg.includes(':')) return null;
  } else if (sep === ':' ? !arg || !DOMAIN.test(arg.split('/')[0]!) : sep === '/' ? !/^\d{1,3}$/.test(arg ?? '') : false) {
    return null;
  }
  return `${qualifier === '+' ? '' : qualifier}${name}${sep ?? ''}${arg ?? ''}`;
}

/**
 * The terms of an SPF record the domain already had, minus what mailplane writes itself: `v=spf1`,
 * the final `all`, `exp=` and the server's own addresses. `redirect=x` becomes `include:x` (the same
 * senders, with mailplane's `-all` after them).
 */
export function spfTermsOf(record: string, own: readonly string[]): string[] {
  const terms: string[] = [];
  for (const raw of record.replace(/^"|"$/g, '').trim().split(/\s+/).slice(1)) {
    const redirect = /^redirect=(.+)$/i.exec(raw);
    const term = redirect ? normalizeSpfTerm(`include:${redirect[1]}`) : normalizeSpfTerm(raw);
    if (term && !own.includes(term) && !terms.includes(term)) terms.push(term);
  }
  return terms;
}

/** DNS-querying terms that evaluating `terms` costs, includes followed; an include without SPF is refused. */
export async function countSpfLookups(lookup: DnsLookup, terms: readonly string[], depth = 0): Promise<number> {
  let count = 0;
  for (const term of terms) {
    const m = /^[+~?-]?([a-z0-9]+)[:=]?(.*)$/i.exec(term);
    const name = m?.[1]?.toLowerCase() ?? '';
    if (!LOOKUP_TERMS.has(name)) continue;
    count++;
    if (name !== 'include' && name !== 'redirect') continue;
    const target = m?.[2] ?? '';
    if (depth >= SPF_LOOKUP_LIMIT) return count + SPF_LOOKUP_LIMIT;
    const txt = await lookup.lookup(target, 'TXT');
    if (txt.status === 'error') throw new ValidationError(`Could not look up the SPF record of ${target} (${txt.error}); try again later.`);
    const spf = txt.status === 'ok' ? txt.answers.map((a) => a.replace(/^"|"$/g, '')).find((a) => /^v=spf1(\s|$)/i.test(a)) : undefined;
    if (!spf) throw new ValidationError(`${term}: ${target} publishes no SPF record, so receivers would answer permerror for your whole domain.`);
    count += await countSpfLookups(lookup, spf.trim().split(/\s+/).slice(1), depth + 1);
    if (count > SPF_LOOKUP_LIMIT) return count;
  }
  return count;
}
