/**
 * The `dns.sync` job: what the customer changed in their zone (their own
 * records, their SPF terms) written at Cloudflare. The API only records the
 * intent (customer_dns_records rows `pending` / `deleting`, servers.spf_terms)
 * and enqueues this job in the same transaction; the job reads the state when
 * it runs, so one run applies every change made since the last one.
 *
 * A refusal by Cloudflare (a CNAME where another record exists, say) marks
 * the row `failed` with Cloudflare's reason for the customer to fix; an
 * outage or a 429 fails the job, and pg-boss runs it again with backoff.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { customerDnsRecords, dnsRecords, servers } from '../src/db/schema/index.ts';
import { ProviderError } from '../src/errors.ts';
import type { Tx } from '../src/db/client.ts';
import type { JobQueue } from '../src/jobs/queue.ts';
import type { DnsRecordInput, DnsRecordType } from '../src/providers/dns/interface.ts';
import type { ProvisioningDeps } from './context.ts';
import { desiredRecords } from './dns-records.ts';
import { currentIps } from './ips.ts';
import { publishRecord, recordFacts } from './records.ts';

export async function enqueueDnsSync(queue: JobQueue, serverId: string, tx?: Tx): Promise<void> {
  await queue.send('dns.sync', { serverId }, { singletonKey: serverId, ...(tx ? { tx } : {}) });
}

type Row = typeof customerDnsRecords.$inferSelect;

function input(row: Row): DnsRecordInput {
  return { type: row.type as DnsRecordType, name: row.name, content: row.content, ttl: row.ttl, ...(row.priority !== null ? { priority: row.priority } : {}) };
}

/**
 * The row as read, unless somebody changed it since (a newer change has its own sync queued).
 * PostgreSQL keeps microseconds and a JavaScript Date milliseconds, so the comparison is at milliseconds.
 */
function unchangedSince(row: Row) {
  return and(eq(customerDnsRecords.id, row.id), sql`date_trunc('milliseconds', ${customerDnsRecords.updatedAt}) = ${row.updatedAt.toISOString()}::timestamptz`);
}

async function settle(deps: ProvisioningDeps, row: Row, values: Partial<Row>): Promise<void> {
  await deps.database.db
    .update(customerDnsRecords)
    .set({ ...values, updatedAt: new Date() })
    .where(unchangedSince(row));
}

export async function syncDns(deps: ProvisioningDeps, { serverId }: { serverId: string }): Promise<{ written: number; deleted: number; failed: number }> {
  const [server] = await deps.database.db.select().from(servers).where(eq(servers.id, serverId));
  // Before publish_dns there is no zone: publish_dns queues this job again once it has one.
  if (!server || server.status === 'deleted' || !server.dnsZoneId) return { written: 0, deleted: 0, failed: 0 };
  const zoneId = server.dnsZoneId;
  const rows = await deps.database.db
    .select()
    .from(customerDnsRecords)
    .where(and(eq(customerDnsRecords.serverId, serverId), inArray(customerDnsRecords.state, ['pending', 'deleting'])));
  let written = 0;
  let deleted = 0;
  let failed = 0;
  for (const row of rows) {
    try {
      if (row.state === 'deleting') {
        if (row.providerRecordId) await deps.dns.deleteRecord(zoneId, row.providerRecordId);
        // Kept as a tombstone: the scan, repeated while the zone waits, must not bring back what the customer deleted.
        await settle(deps, row, { state: 'deleted', providerRecordId: null });
        deleted++;
        continue;
      }
      const record = row.providerRecordId
        ? await deps.dns.updateRecord(zoneId, row.providerRecordId, input(row))
        : await deps.dns.createRecord(zoneId, input(row));
      await settle(deps, row, { state: 'published', error: null, providerRecordId: record.id });
      written++;
    } catch (err) {
      if (!(err instanceof ProviderError) || err.retryable) throw err;
      await settle(deps, row, { state: 'failed', error: err.detail ?? err.message });
      failed++;
    }
  }
  // The SPF record carries the customer's terms: re-published once mailplane has published it at all.
  const [spf] = await deps.database.db
    .select()
    .from(dnsRecords)
    .where(and(eq(dnsRecords.serverId, serverId), eq(dnsRecords.purpose, 'spf'), eq(dnsRecords.state, 'published')));
  if (spf) {
    const ips = (await currentIps(deps, serverId)).filter((ip) => ip.state !== 'listed');
    const desired = desiredRecords(await recordFacts(deps, server, ips)).find((r) => r.purpose === 'spf');
    // Unchanged terms leave the record (and its row) alone.
    if (desired && desired.content !== spf.content) await publishRecord(deps, server, zoneId, desired);
  }
  return { written, deleted, failed };
}
