/**
 * DNS lookups (node:dns Resolver against configurable servers): forward
 * lookups for verification and DNS blacklist queries.
 */
export type LookupType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'TLSA' | 'PTR' | 'CAA' | 'NS' | 'SRV';

export type LookupResult = { status: 'ok'; answers: string[] } | { status: 'nxdomain' | 'nodata' } | { status: 'error'; error: string };

export interface DnsLookup {
  /**
   * Answers in presentation form: A/AAAA addresses, MX "10 host", TXT the
   * joined character-strings, TLSA "3 1 1 <hex>", PTR the host, CAA `0 issue "ca"`.
   */
  lookup(name: string, type: LookupType): Promise<LookupResult>;
}

export type DnsblVerdict =
  | { zone: string; status: 'listed'; codes: string[]; meaning: string[] }
  | { zone: string; status: 'clean' }
  /** Timeout, SERVFAIL, refused, or a 127.255.255.x "query error" answer: never clean, never listed. */
  | { zone: string; status: 'unknown'; error: string };

export interface BlacklistChecker {
  readonly zones: readonly string[];
  /** Queries every zone at once; one verdict per zone. */
  check(ip: string): Promise<DnsblVerdict[]>;
}
