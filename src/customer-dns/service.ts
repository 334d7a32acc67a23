/**
 * The customer's own records in their zone (imported before the nameserver
 * move, or added since) and their SPF terms. Like mailboxes, every change is
 * written with its `dns.sync` job in one transaction and audited; the job
 * applies it at Cloudflare. Names where mailplane publishes (the mail host,
 * the apex MX and SPF, DMARC…) are mailplane's and refused here with a 409:
 * the SPF record takes the customer's senders through `setSpfTerms`.
 */
import { and, asc, eq, ne, notInArray, sql } from 'drizzle-orm';
import { isMailplaneSlot, spfRecord } from '../../provisioning/dns-records.ts';
import { enqueueDnsSync } from '../../provisioning/customer-records-sync.ts';
import { audit, type Actor } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { Database, Db } from '../db/client.ts';
import { customerDnsRecords, dkimKeys, dnsRecords, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';
import { findServer, type ServerRow } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { normalizeRecord, type CustomerRecordInput, type NormalizedRecord } from './record-input.ts';
import { countSpfLookups, normalizeSpfTerm, SPF_LOOKUP_LIMIT } from './spf-terms.ts';

export interface CustomerDnsDeps {
  database: Database;
  queue: JobQueue;
  lookup: DnsLookup;
  /** For the server row's updated_at, as every other writer of that row stamps it. */
  clock: Clock;
}

type Row = typeof customerDnsRecords.$inferSelect;

/**
 * A record's updated_at is its version: the `dns.sync` job settles a row only if it is unchanged since
 * it read it (provisioning/customer-records-sync.ts). The database's clock at the write, as its insert's
 * default: a process clock (a test's fixed one, say) can give two changes the same stamp.
 */
const recordChangedNow = sql`clock_timestamp()`;

export function presentCustomerRecord(r: Row) {
  return {
    id: r.id,
    source: r.source,
    type: r.type,
    name: r.name,
    content: r.content,
    priority: r.priority,
    ttl: r.ttl,
    state: r.state,
    error: r.error,
    updatedAt: r.updatedAt.toISOString(),
  };
}

export async function customerRecordsOf(db: Db, serverId: string): Promise<Row[]> {
  return db
    .select()
    .from(customerDnsRecords)
    .where(and(eq(customerDnsRecords.serverId, serverId), ne(customerDnsRecords.state, 'deleted')))
    .orderBy(asc(customerDnsRecords.name), asc(customerDnsRecords.type));
}

/** DNS can be changed from checkout (records to add before the move) until the server is being removed. */
async function changeableServer(db: Db, access: WorkspaceAccess, serverId: string): Promise<ServerRow> {
  const server = await findServer(db, serverId, access.workspaceId);
  if (server.status === 'deprovisioning' || server.status === 'deleted')
    throw new ConflictError(`The server is ${server.status}; its DNS can no longer be changed`);
  return server;
}

async function findRecord(db: Db, serverId: string, recordId: string): Promise<Row> {
  const [row] = /^[0-9a-f-]{36}$/i.test(recordId)
    ? await db
        .select()
        .from(customerDnsRecords)
        .where(and(eq(customerDnsRecords.id, recordId), eq(customerDnsRecords.serverId, serverId)))
    : [];
  if (!row || row.state === 'deleting' || row.state === 'deleted') throw new NotFoundError('DNS record');
  return row;
}

async function checkConflicts(db: Db, server: ServerRow, record: NormalizedRecord, selfId?: string): Promise<void> {
  const selectors = (
    await db.select({ selector: dkimKeys.selector, ed25519: dkimKeys.ed25519Selector }).from(dkimKeys).where(eq(dkimKeys.serverId, server.id))
  ).flatMap((r) => (r.ed25519 ? [r.selector, r.ed25519] : [r.selector]));
  if (isMailplaneSlot({ domain: server.domain, hostname: server.hostname, dkimSelectors: selectors }, record)) {
    const spf = record.type === 'TXT' && /^v=spf1/i.test(record.content);
    throw new ConflictError(
      spf
        ? 'mailplane publishes the SPF record of your domain; add your other senders to it with PUT …/dns/spf instead'
        : `mailplane publishes ${record.type === 'MX' ? 'the MX' : 'the records'} at ${record.name} for your mail server; choose another name`,
      'mailplane_record',
    );
  }
  const theirs = (
    await db
      .select()
      .from(customerDnsRecords)
      .where(
        and(
          eq(customerDnsRecords.serverId, server.id),
          eq(customerDnsRecords.name, record.name),
          notInArray(customerDnsRecords.state, ['deleting', 'deleted']),
        ),
      )
  ).filter((r) => r.id !== selfId);
  const ours = await db
    .select()
    .from(dnsRecords)
    .where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.name, record.name), eq(dnsRecords.state, 'published')));
  const others = [...theirs, ...ours];
  if (theirs.some((r) => r.type === record.type && r.content === record.content))
    throw new ConflictError(`${record.type} ${record.name} ${record.content} exists already`, 'record_exists');
  if ((record.type === 'CNAME' && others.length > 0) || others.some((r) => r.type === 'CNAME')) {
    throw new ConflictError(`${record.name} cannot hold a CNAME and other records at once`, 'cname_conflict');
  }
}

export async function addCustomerRecord(
  deps: CustomerDnsDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  input: CustomerRecordInput,
): Promise<Row> {
  const { db } = deps.database;
  const server = await changeableServer(db, access, serverId);
  const record = normalizeRecord(input, server.domain);
  await checkConflicts(db, server, record);
  return deps.database.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(customerDnsRecords)
      .values({ serverId, source: 'customer', ...record, state: 'pending' })
      .returning();
    await enqueueDnsSync(deps.queue, serverId, tx);
    await audit(tx, actor, {
      action: 'dns.record_added',
      workspaceId: access.workspaceId,
      target: serverId,
      details: { record: row!.id, type: record.type, name: record.name },
    });
    return row!;
  });
}

export async function updateCustomerRecord(
  deps: CustomerDnsDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  recordId: string,
  input: CustomerRecordInput,
): Promise<Row> {
  const { db } = deps.database;
  const server = await changeableServer(db, access, serverId);
  const existing = await findRecord(db, serverId, recordId);
  const record = normalizeRecord(input, server.domain);
  await checkConflicts(db, server, record, existing.id);
  return deps.database.db.transaction(async (tx) => {
    const [row] = await tx
      .update(customerDnsRecords)
      .set({ ...record, state: 'pending', error: null, updatedAt: recordChangedNow })
      .where(eq(customerDnsRecords.id, existing.id))
      .returning();
    await enqueueDnsSync(deps.queue, serverId, tx);
    await audit(tx, actor, {
      action: 'dns.record_changed',
      workspaceId: access.workspaceId,
      target: serverId,
      details: {
        record: existing.id,
        before: { type: existing.type, name: existing.name, content: existing.content },
        after: { type: record.type, name: record.name },
      },
    });
    return row!;
  });
}

export async function deleteCustomerRecord(deps: CustomerDnsDeps, actor: Actor, access: WorkspaceAccess, serverId: string, recordId: string): Promise<void> {
  const { db } = deps.database;
  await changeableServer(db, access, serverId);
  const existing = await findRecord(db, serverId, recordId);
  await deps.database.db.transaction(async (tx) => {
    await tx.update(customerDnsRecords).set({ state: 'deleting', updatedAt: recordChangedNow }).where(eq(customerDnsRecords.id, existing.id));
    await enqueueDnsSync(deps.queue, serverId, tx);
    await audit(tx, actor, {
      action: 'dns.record_deleted',
      workspaceId: access.workspaceId,
      target: serverId,
      details: { record: existing.id, type: existing.type, name: existing.name },
    });
  });
}

/** The SPF record as it will be published, and how many DNS lookups it costs receivers. */
export async function spfView(lookup: DnsLookup, server: ServerRow): Promise<{ terms: string[]; record: string; lookups: number | null }> {
  const record = spfRecord({ ipv4: server.ipv4, ipv6: server.ipv6, spfTerms: server.spfTerms });
  const lookups = await countSpfLookups(lookup, server.spfTerms).catch(() => null);
  return { terms: server.spfTerms, record, lookups };
}

/** Replaces the customer's SPF terms; refused (400) when a term is malformed or the record would pass SPF's 10-lookup limit. */
export async function setSpfTerms(deps: CustomerDnsDeps, actor: Actor, access: WorkspaceAccess, serverId: string, raw: readonly string[]) {
  const { db } = deps.database;
  const server = await changeableServer(db, access, serverId);
  const terms: string[] = [];
  raw.forEach((t, i) => {
    const term = normalizeSpfTerm(t);
    if (!term)
      throw new ValidationError(`"${t}" is not an SPF term mailplane accepts (include:, a, mx, ip4:, ip6:, exists:)`, {
        errors: [{ path: `terms.${i}`, message: 'not an accepted SPF term' }],
      });
    if (!terms.includes(term)) terms.push(term);
  });
  const lookups = await countSpfLookups(deps.lookup, terms);
  if (lookups > SPF_LOOKUP_LIMIT) {
    throw new ValidationError(
      `These senders cost ${lookups} DNS lookups; receivers allow ${SPF_LOOKUP_LIMIT} per SPF check (RFC 7208 §4.6.4) and would fail all of your mail. Replace an include by the sender's ip4:/ip6: ranges, or drop one.`,
      { lookups, limit: SPF_LOOKUP_LIMIT },
    );
  }
  await deps.database.db.transaction(async (tx) => {
    await tx
      .update(servers)
      .set({ spfTerms: terms, updatedAt: new Date(deps.clock.now()) })
      .where(eq(servers.id, server.id));
    await enqueueDnsSync(deps.queue, server.id, tx);
    await audit(tx, actor, {
      action: 'dns.spf_changed',
      workspaceId: access.workspaceId,
      target: server.id,
      details: { before: server.spfTerms, after: terms },
    });
  });
  return { terms, record: spfRecord({ ipv4: server.ipv4, ipv6: server.ipv6, spfTerms: terms }), lookups };
}
