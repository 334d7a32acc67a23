/** Reverse DNS as the customer's DNS view shows it (the page and `GET …/dns`), from the health run's own checks. */
import type { Db } from '../db/client.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';
import { ptrCheck } from './dns-checks.ts';
import { gatherFacts } from './run-checks.ts';

/**
 * The reverse DNS of the server's addresses as the DNS page shows it (forward-confirmed: the PTR names
 * the mail host, which resolves back to the address), from the same checks as the health run.
 */
export async function ptrView(lookup: DnsLookup, db: Db, serverId: string) {
  const facts = await gatherFacts({ db }, serverId);
  const checks = await Promise.all([ptrCheck(lookup, facts, 'ipv4'), ptrCheck(lookup, facts, 'ipv6')]);
  return checks.map((check, i) => ({
    family: i === 0 ? ('ipv4' as const) : ('ipv6' as const),
    type: 'PTR' as const,
    address: (check.details['address'] as string | undefined) ?? null,
    expected: facts.server.hostname,
    answers: (check.details['ptr'] as string[] | undefined) ?? [],
    status: check.status,
    summary: check.summary,
    action: check.action,
  }));
}
