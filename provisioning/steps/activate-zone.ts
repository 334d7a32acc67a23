/**
 * activate_zone: the customer's zone answers publicly only once their domain's
 * nameservers point at Cloudflare, something only they can do at their
 * registrar, maybe days later. Until then the PTR (Scaleway checks the forward
 * record), the certificate and verify would only burn retries, so this step
 * waits (WaitingError: the server shows the nameservers to set) and asks
 * Cloudflare to look again at every re-check. A Free-plan zone still pending
 * after 28 days is deleted by Cloudflare: the records are then published again
 * into a new zone, whose new nameservers the customer is shown. While the zone
 * waits, records Cloudflare's scan found since are imported (dns-import.ts).
 */
import { and, count, eq, ne } from 'drizzle-orm';
import { customerDnsRecords, servers } from '../../src/db/schema/index.ts';
import { ProviderError } from '../../src/errors.ts';
import type { StepDefinition } from '../context.ts';
import { importExistingRecords } from '../dns-import.ts';
import { WaitingError } from '../waiting.ts';
import { publishDns } from './publish-dns.ts';

const PENDING_ZONE_LIFETIME_MS = 28 * 24 * 3600_000;

export const activateZone: StepDefinition = {
  name: 'activate_zone',
  async run(ctx) {
    const { deps, log } = ctx;
    let server = ctx.server;
    if (!server.dnsZoneId) throw new Error('the server has no DNS zone (publish_dns)');
    let zone = await deps.dns.checkActivation(server.dnsZoneId, server.domain);
    if (!zone) {
      log(`zone ${server.dnsZoneId} of ${server.domain} is gone (Cloudflare deletes a Free zone left pending 28 days): publishing again`);
      await publishDns.run({ ...ctx, server });
      server = await ctx.reloadServer();
      zone = await deps.dns.checkActivation(server.dnsZoneId!, server.domain);
      if (!zone)
        throw new ProviderError({ provider: 'cloudflare', retryable: true, code: 'zone_missing', detail: `the zone of ${server.domain} vanished again` });
    }
    if (zone.nameServers.join(',') !== (server.nameServers ?? []).join(',')) {
      await deps.database.db.update(servers).set({ nameServers: zone.nameServers, updatedAt: new Date() }).where(eq(servers.id, server.id));
    }
    if (zone.status === 'active') {
      log(`${server.domain} is delegated to ${zone.nameServers.join(', ')}`);
      return { zone: zone.id, status: zone.status, nameServers: zone.nameServers };
    }
    // Cloudflare's scan runs in the background: what it found since publish_dns joins the zone before the move.
    try {
      await importExistingRecords(deps, server, zone.id, log);
    } catch (err) {
      log(`importing the domain's existing records failed this time (${err instanceof Error ? err.message : String(err)}); the next check tries again`);
    }
    const theirs = await deps.database.db
      .select({ n: count() })
      .from(customerDnsRecords)
      .where(and(eq(customerDnsRecords.serverId, server.id), ne(customerDnsRecords.state, 'deleted')));
    const check = `First check on the DNS page the ${theirs[0]?.n ?? 0} record(s) of yours copied from your current DNS, and add any that are missing (only the common names are found): after the move, only those answer. Then, at`;
    const created = zone.createdAt ? Date.parse(zone.createdAt) : Number.NaN;
    const deletesAt = Number.isNaN(created) ? null : new Date(created + PENDING_ZONE_LIFETIME_MS).toISOString();
    const ns = zone.nameServers.join(' and ');
    throw new WaitingError({
      code: 'zone_pending',
      party: 'customer',
      message: `${server.domain} does not use the nameservers ${ns} yet.`,
      action:
        `${check} your registrar, set the nameservers of ${server.domain} to ${ns}; mailplane checks every few minutes and continues by itself.` +
        (deletesAt
          ? ` Cloudflare deletes a zone left pending 28 days (${deletesAt.slice(0, 10)}); mailplane then creates a new one, with new nameservers to set.`
          : ''),
      recheckMs: deps.settings.waitRecheckMs,
      details: { nameServers: zone.nameServers, zoneStatus: zone.status, zoneDeletedAt: deletesAt },
    });
  },
};
