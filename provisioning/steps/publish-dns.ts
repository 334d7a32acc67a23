/**
 * publish_dns: the customer's zone (found or created), the domain's existing
 * records imported into it (dns-import.ts), every mail record, and DNSSEC
 * switched on. The DS and the nameservers are stored for the customer, who
 * must set them at their registrar.
 *
 * Cloudflare caps the zones an account may hold pending (about 50, lower for
 * some accounts): a burst of sign-ups whose customers have not moved their
 * nameservers yet makes it refuse new zones. That is a wait, not a failure:
 * the step waits (ops alerted) and tries again until zones have activated.
 */
import { and, eq, notInArray } from 'drizzle-orm';
import { customerDnsRecords, servers } from '../../src/db/schema/index.ts';
import { ProviderError } from '../../src/errors.ts';
import type { DnsZone } from '../../src/providers/dns/interface.ts';
import type { StepContext, StepDefinition } from '../context.ts';
import { enqueueDnsSync } from '../customer-records-sync.ts';
import { importExistingRecords } from '../dns-import.ts';
import { desiredRecords, dmarcReportAuthorization, type RecordFacts } from '../dns-records.ts';
import { storeDnssec } from '../dnssec-watch.ts';
import { currentIps } from '../ips.ts';
import { publishRecord, recordFacts } from '../records.ts';
import { ensureServerKeys } from '../server-keys.ts';
import { WaitingError } from '../waiting.ts';

async function zoneOrWait({ deps }: StepContext, serverId: string, domain: string): Promise<DnsZone> {
  try {
    return await deps.dns.ensureZone(domain);
  } catch (err) {
    if (!(err instanceof ProviderError) || err.code !== 'zone_pending_limit') throw err;
    const message = `Cloudflare refuses the zone of ${domain} for now: the account holds its limit of pending zones (domains whose nameservers have not moved yet).`;
    throw new WaitingError({
      code: 'zone_pending_limit',
      party: 'ops',
      message,
      action:
        "Ops: ask Cloudflare to raise the account's pending-zone limit or delete abandoned pending zones; mailplane tries again at every check and continues by itself.",
      recheckMs: deps.settings.waitRecheckMs,
      details: { provider: 'cloudflare', error: err.detail ?? null },
      alert: {
        kind: 'cloudflare_pending_zone_limit',
        severity: 'warning',
        dedupeKey: `cloudflare_pending_zone_limit:${serverId}`,
        message,
        details: { domain },
      },
    });
  }
}

/**
 * With DMARC_RUA in another domain, receivers send that address reports about this domain only if
 * the other domain says it accepts them (RFC 7489 §7.1). That domain is mailplane's, in the same account.
 */
async function authorizeExternalRua({ deps, log }: StepContext, facts: RecordFacts): Promise<void> {
  const auth = dmarcReportAuthorization(facts);
  if (!auth) return;
  const zone = await deps.dns.findZone(auth.ruaDomain);
  if (!zone) {
    log(
      `DMARC_RUA ${facts.dmarcRua}: no zone ${auth.ruaDomain} in this Cloudflare account, so ${auth.name} TXT "v=DMARC1" is not published and receivers will not send it reports`,
    );
    return;
  }
  const { action } = await deps.dns.upsertRecord(zone.id, { type: 'TXT', name: auth.name, content: auth.content });
  log(`TXT ${auth.name}: ${action}`);
}

export const publishDns: StepDefinition = {
  name: 'publish_dns',
  async run(ctx) {
    const { deps, log } = ctx;
    let server = await ensureServerKeys(deps, ctx.server.id);
    const zone = await zoneOrWait(ctx, server.id, server.domain);
    await deps.database.db.update(servers).set({ dnsZoneId: zone.id, nameServers: zone.nameServers, updatedAt: new Date() }).where(eq(servers.id, server.id));
    if (server.dnsZoneId && server.dnsZoneId !== zone.id) {
      // A new zone (Cloudflare deleted the one left pending): the customer's records are written into it again.
      await deps.database.db
        .update(customerDnsRecords)
        .set({ state: 'pending', providerRecordId: null, updatedAt: new Date() })
        .where(and(eq(customerDnsRecords.serverId, server.id), notInArray(customerDnsRecords.state, ['deleting', 'deleted'])));
    }
    // Before mailplane's own records, so the scan sees the domain as it is and nothing is asked of the customer yet.
    if (!server.dnsImportedAt) {
      await importExistingRecords(deps, server, zone.id, log);
      server = await ctx.reloadServer();
    }
    const ips = (await currentIps(deps, server.id)).filter((ip) => ip.state !== 'listed');
    const facts = await recordFacts(deps, server, ips);
    const records = desiredRecords(facts);
    const actions: Record<string, string> = {};
    // One listing of the zone instead of one lookup per record: fewer calls, fewer chances to fail.
    const zoneRecords = await deps.dns.listRecords(zone.id);
    for (const record of records) {
      actions[record.purpose] = await publishRecord(deps, server, zone.id, record, zoneRecords);
      log(`${record.type} ${record.name}: ${actions[record.purpose]}`);
    }
    await authorizeExternalRua(ctx, facts);
    const dnssec = await deps.dns.enableDnssec(zone.id);
    await storeDnssec(deps, server.id, dnssec);
    // Records the customer added before the zone existed are written now.
    await enqueueDnsSync(deps.queue, server.id);
    log(`DNSSEC ${dnssec.state}${dnssec.ds ? `, DS ${dnssec.ds}` : ''}; nameservers ${zone.nameServers.join(', ')}`);
    return { zoneId: zone.id, records: actions, dnssec: dnssec.state };
  },
};
