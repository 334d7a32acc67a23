/**
 * The domain's existing DNS, brought into the new zone before the customer is
 * asked to move the nameservers: otherwise the move takes down their website
 * (`www`) and their verification TXT records. Cloudflare's own scan finds what
 * the domain answers today at the common names; every record found is added
 * to the zone as the customer's (listed in customer_dns_records, never touched
 * by mailplane) except where mailplane publishes: the mail host, the apex MX,
 * DMARC and so on are replaced, and an existing SPF record is merged (its
 * terms are kept in the SPF mailplane publishes). The scan runs in the
 * background at Cloudflare, so while the zone waits for its nameservers the
 * import is repeated (activate_zone) and picks up what was found since.
 */
import { eq, sql } from 'drizzle-orm';
import { customerDnsRecords, dkimKeys, servers } from '../src/db/schema/index.ts';
import type { DnsRecord } from '../src/providers/dns/interface.ts';
import { spfTermsOf } from '../src/customer-dns/spf-terms.ts';
import type { ProvisioningDeps, ServerRow } from './context.ts';
import { isMailplaneSlot } from './dns-records.ts';

export interface ImportResult {
  imported: DnsRecord[];
  replaced: DnsRecord[];
  spfTerms: string[];
}

export async function mailplaneSelectors(deps: ProvisioningDeps, serverId: string): Promise<string[]> {
  const rows = await deps.database.db
    .select({ selector: dkimKeys.selector, ed25519: dkimKeys.ed25519Selector })
    .from(dkimKeys)
    .where(eq(dkimKeys.serverId, serverId));
  return rows.flatMap((r) => (r.ed25519 ? [r.selector, r.ed25519] : [r.selector]));
}

export async function importExistingRecords(deps: ProvisioningDeps, serverRow: ServerRow, zoneId: string, log: (line: string) => void): Promise<ImportResult> {
  // One import at a time per server (a re-delivered step job may run beside another): each reads what the
  // customer has only once the previous one has written what it imported.
  const result = await deps.database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`dns-import:${serverRow.id}`}))`);
    const [server] = await tx.select().from(servers).where(eq(servers.id, serverRow.id));
    if (!server) return null;
    const found = await deps.dns.scanExistingRecords(zoneId);
    const slots = { domain: server.domain, hostname: server.hostname, dkimSelectors: await mailplaneSelectors(deps, server.id) };
    // What the customer already has (or deleted) at a name and type is their decision: a later scan does not add to it.
    const theirs = await tx
      .select({ type: customerDnsRecords.type, name: customerDnsRecords.name })
      .from(customerDnsRecords)
      .where(eq(customerDnsRecords.serverId, server.id));
    // A CNAME shares its name with nothing, so one on either side settles the whole name.
    const isKnown = (r: DnsRecord) => theirs.some((t) => t.name === r.name && (t.type === r.type || t.type === 'CNAME' || r.type === 'CNAME'));
    const accept: DnsRecord[] = [];
    const replaced: DnsRecord[] = [];
    let spfTerms = [...server.spfTerms];
    for (const record of found) {
      if (record.type === 'TXT' && record.name === server.domain && /^v=spf1(\s|$)/i.test(record.content)) {
        // Only the first import takes the old SPF's senders; after that the customer's own list decides.
        if (!server.dnsImportedAt) {
          const own = [server.ipv4 && `ip4:${server.ipv4}`, server.ipv6 && `ip6:${server.ipv6}`].filter((t): t is string => Boolean(t));
          spfTerms = [...new Set([...spfTerms, ...spfTermsOf(record.content, own)])];
        }
        replaced.push(record);
      } else if (isMailplaneSlot(slots, record) || isKnown(record)) {
        replaced.push(record);
      } else {
        accept.push(record);
      }
    }
    const created = await deps.dns.reviewScannedRecords(
      zoneId,
      accept.map(({ id: _id, ...r }) => r),
      replaced.map((r) => r.id),
    );
    for (const r of created) {
      await tx.insert(customerDnsRecords).values({
        serverId: server.id,
        source: 'imported',
        type: r.type,
        name: r.name,
        content: r.content,
        priority: r.priority ?? null,
        ttl: r.ttl ?? 1,
        providerRecordId: r.id,
        state: 'published',
      });
    }
    // spf_terms written only when this import changed them, so a customer's change made meanwhile stands.
    const spfChanged = spfTerms.length !== server.spfTerms.length;
    await tx
      .update(servers)
      .set({ ...(spfChanged ? { spfTerms } : {}), dnsImportedAt: server.dnsImportedAt ?? new Date(), updatedAt: new Date() })
      .where(eq(servers.id, server.id));
    return { imported: created, replaced, spfTerms };
  });
  if (!result) return { imported: [], replaced: [], spfTerms: [] };
  for (const r of result.imported) log(`imported the customer's ${r.type} ${r.name}`);
  for (const r of result.replaced) log(`not imported ${r.type} ${r.name}: mailplane publishes there, or the customer already set it`);
  return result;
}
