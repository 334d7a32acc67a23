/** What a DNS lookup of a published record should answer (for the customer's DNS view and verify), and DNSSEC as the customer sees it. */
import type { DnssecKeyFacts } from '../db/schema/index.ts';
import type { LookupType } from '../providers/lookup/interface.ts';

/**
 * DNSSEC with what the registrar needs (the DS, or the key for registries that ask for it) and, while
 * it is not active, what mailplane waits for: the customer adding the DS; the DNSSEC watch checks
 * every 10 minutes and publishes TLSA by itself once it is active.
 */
export function dnssecView(server: {
  domain: string;
  dnssecStatus: string | null;
  dnssecDs: string | null;
  dnssecKey: DnssecKeyFacts | null;
  dnssecCheckedAt: Date | null;
}) {
  const waiting = server.dnssecStatus !== null && server.dnssecStatus !== 'active' && server.dnssecDs !== null;
  return {
    status: server.dnssecStatus,
    ds: server.dnssecDs,
    key: server.dnssecKey,
    checkedAt: server.dnssecCheckedAt?.toISOString() ?? null,
    waitingFor: waiting
      ? {
          code: 'dnssec_pending',
          party: 'customer' as const,
          message: `DNSSEC for ${server.domain} waits for its DS record at your registrar; inbound DANE (TLSA) is published once it is active.`,
          action: `At your registrar, add the DS record ${server.dnssecDs} (or the key: tag ${server.dnssecKey?.keyTag ?? '?'}, algorithm ${server.dnssecKey?.algorithm ?? '?'}, flags ${server.dnssecKey?.flags ?? '?'}). mailplane checks every 10 minutes and continues by itself.`,
        }
      : null,
  };
}

export function expectedAnswer(
  record: { type: string; content: string; priority: number | null },
  server: { ipv4: string | null },
): { type: LookupType | null; expected: string } {
  switch (record.type) {
    // A CNAME is checked through the address it leads to.
    case 'CNAME':
      return { type: 'A', expected: server.ipv4 ?? '' };
    case 'MX':
      return { type: 'MX', expected: `${record.priority ?? 10} ${record.content}` };
    case 'A':
    case 'AAAA':
    case 'TXT':
    case 'TLSA':
    case 'CAA':
    case 'SRV':
      return { type: record.type, expected: record.content };
    // node:dns cannot query SSHFP.
    default:
      return { type: null, expected: record.content };
  }
}
