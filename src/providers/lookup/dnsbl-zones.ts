/**
 * The DNSBL zones checked when DNSBL_ZONES is not set, and what their return
 * codes mean. A zone answers an A record in 127.0.0.0/8 for a listed address;
 * most use 127.0.0.2 for "listed", Spamhaus ZEN tells its sub-lists apart.
 */

export const DEFAULT_DNSBL_ZONES: readonly string[] = [
  'zen.spamhaus.org',
  'b.barracudacentral.org',
  'bl.spamcop.net',
  'psbl.surriel.com',
  'bl.mailspike.net',
  'ix.dnsbl.manitu.net',
  'dnsbl-1.uceprotect.net',
];

const SPAMHAUS_ZEN: Record<string, string> = {
  '127.0.0.2': 'Spamhaus SBL: direct spam source',
  '127.0.0.3': 'Spamhaus SBL CSS: snowshoe spam source',
  '127.0.0.4': 'Spamhaus XBL: exploited or infected host',
  '127.0.0.5': 'Spamhaus XBL: exploited or infected host',
  '127.0.0.6': 'Spamhaus XBL: exploited or infected host',
  '127.0.0.7': 'Spamhaus XBL: exploited or infected host',
  '127.0.0.9': 'Spamhaus DROP: hijacked or criminal netblock',
  '127.0.0.10': 'Spamhaus PBL (ISP maintained): end-user range that should not send mail directly',
  '127.0.0.11': 'Spamhaus PBL (Spamhaus maintained): end-user range that should not send mail directly',
};

/**
 * Spamhaus's public mirrors are for small, non-commercial use (and refuse queries from public
 * resolvers with 127.255.255.254); a fleet's monitoring goes through the Data Query Service instead:
 * the same lists and return codes at `<key>.<list>.dq.spamhaus.net`. The key is a secret of the
 * account, so only the query carries it: verdicts, history and alerts keep the list's public name.
 */
const SPAMHAUS_DQS_LISTS = new Set(['zen', 'sbl', 'xbl', 'sbl-xbl', 'pbl', 'authbl']);

/** The zone actually queried for `zone`: its DQS name when a key is given and Spamhaus serves the list there. */
export function dnsblQueryZone(zone: string, dqsKey: string | undefined): string {
  const bare = zone.toLowerCase().replace(/\.$/, '');
  const list = bare.endsWith('.spamhaus.org') ? bare.slice(0, -'.spamhaus.org'.length) : null;
  return dqsKey && list && SPAMHAUS_DQS_LISTS.has(list) ? `${dqsKey}.${list}.dq.spamhaus.net` : bare;
}

/** Per zone, code → meaning. Zones not in the table use the generic "listed" meaning. */
export const DNSBL_CODE_MEANINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'zen.spamhaus.org': SPAMHAUS_ZEN,
  'b.barracudacentral.org': { '127.0.0.2': 'listed on Barracuda Reputation Block List' },
  'bl.spamcop.net': { '127.0.0.2': 'listed on SpamCop (recently reported spam)' },
  'psbl.surriel.com': { '127.0.0.2': 'listed on PSBL (hit spam traps)' },
  'bl.mailspike.net': { '127.0.0.2': 'listed on Mailspike blacklist' },
  'ix.dnsbl.manitu.net': { '127.0.0.2': 'listed on NiX Spam (manitu)' },
  'dnsbl-1.uceprotect.net': { '127.0.0.2': 'listed on UCEPROTECT level 1 (this address)' },
};

/**
 * Answers in 127.255.255.0/24 are not listings but refusals to answer;
 * Spamhaus documents these three.
 */
const QUERY_ERRORS: Record<string, string> = {
  '127.255.255.252': 'query error: typing error in the DNSBL name',
  '127.255.255.254': 'query error: queried through a public or open resolver',
  '127.255.255.255': 'query error: excessive number of queries',
};

export function dnsblCodeMeaning(zone: string, code: string): string {
  return DNSBL_CODE_MEANINGS[zone.toLowerCase()]?.[code] ?? `listed on ${zone} (${code})`;
}

export function dnsblQueryErrorMeaning(code: string): string {
  return QUERY_ERRORS[code] ?? `query error: ${code}`;
}
