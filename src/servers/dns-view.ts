/** What a DNS lookup of a published record should answer (for the customer's DNS view and verify). */
import type { LookupType } from '../providers/lookup/interface.ts';

export function expectedAnswer(
  record: { type: string; content: string; priority: number | null },
  server: { ipv4: string | null },
): { type: LookupType | null; expected: string } {
  switch (record.type) {
    // A CNAME is checked through the address it leads to.
    case 'CNAME': return { type: 'A', expected: server.ipv4 ?? '' };
    case 'MX': return { type: 'MX', expected: `${record.priority ?? 10} ${record.content}` };
    case 'A': case 'AAAA': case 'TXT': case 'TLSA': case 'CAA': return { type: record.type, expected: record.content };
    // node:dns cannot query SSHFP.
    default: return { type: null, expected: record.content };
  }
}
