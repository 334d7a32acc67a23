/**
 * DNSSEC goes live on the customer's schedule: Cloudflare signs the zone at
 * once but keeps DNSSEC `pending` until the customer has added the DS at their
 * registrar and Cloudflare has seen it there, hours or days after the server
 * is ready. Inbound DANE needs the TLSA record, which means something only in
 * a signed zone (RFC 7672), so publish_tlsa skips it while DNSSEC is pending
 * and this watch, run every 10 minutes for the ready servers still pending,
 * publishes it the moment DNSSEC turns active.
 */
import { and, eq, isNotNull, isNull, ne, or } from 'drizzle-orm';
import { audit, SYSTEM_ACTOR } from '../src/audit.ts';
import { servers } from '../src/db/schema/index.ts';
import type { DnssecStatus } from '../src/providers/dns/interface.ts';
import type { ProvisioningDeps, ServerRow } from './context.ts';
import { tlsaRecord } from './dns-records.ts';
import { publishRecord } from './records.ts';
import { setWarning } from './warnings.ts';

export const TLSA_WARNING = 'tlsa_not_published';
export const DNSSEC_WATCH_CRON = '*/10 * * * *';

/** What Cloudflare said about the zone's DNSSEC, kept for the customer (DS, and the key for registries that ask for it). */
export async function storeDnssec(deps: ProvisioningDeps, serverId: string, dnssec: DnssecStatus): Promise<void> {
  await deps.database.db
    .update(servers)
    .set({
      dnssecStatus: dnssec.state,
      dnssecDs: dnssec.ds,
      dnssecKey: dnssec.key,
      dnssecCheckedAt: new Date(deps.clock.now()),
      updatedAt: new Date(deps.clock.now()),
    })
    .where(eq(servers.id, serverId));
}

export function dnssecPendingMessage(server: Pick<ServerRow, 'domain' | 'dnssecStatus'>): string {
  return (
    `DNSSEC is ${server.dnssecStatus ?? 'not active'} for ${server.domain}: the TLSA (DANE) record is not published yet. ` +
    'Add the DS record shown on the DNS page at your registrar; mailplane checks every 10 minutes and publishes TLSA as soon as DNSSEC is active.'
  );
}

/** Reads one server's DNSSEC and publishes its TLSA once active; returns the state seen. */
export async function checkDnssec(deps: ProvisioningDeps, server: ServerRow): Promise<DnssecStatus['state']> {
  const dnssec = await deps.dns.getDnssec(server.dnsZoneId!);
  await storeDnssec(deps, server.id, dnssec);
  if (dnssec.state !== 'active' || !server.tlsSpkiSha256) return dnssec.state;
  const action = await publishRecord(deps, server, server.dnsZoneId!, tlsaRecord(server.hostname, server.tlsSpkiSha256));
  await setWarning(deps, server.id, TLSA_WARNING, null);
  await audit(deps.database.db, SYSTEM_ACTOR, { action: 'dns.dnssec_active', workspaceId: server.workspaceId, target: server.id, details: { tlsa: action } });
  deps.log.info({ serverId: server.id, domain: server.domain }, 'DNSSEC active: TLSA published');
  return dnssec.state;
}

/** The periodic job: every ready server whose DNSSEC is not active yet. One failing zone does not stop the others. */
export async function watchDnssec(deps: ProvisioningDeps): Promise<{ checked: number; active: number }> {
  const due = await deps.database.db
    .select()
    .from(servers)
    .where(and(eq(servers.status, 'ready'), isNotNull(servers.dnsZoneId), or(isNull(servers.dnssecStatus), ne(servers.dnssecStatus, 'active'))));
  let active = 0;
  for (const server of due) {
    try {
      if ((await checkDnssec(deps, server)) === 'active') active++;
    } catch (err) {
      deps.log.warn({ serverId: server.id, err }, 'DNSSEC check failed; the next run tries again');
    }
  }
  return { checked: due.length, active };
}
