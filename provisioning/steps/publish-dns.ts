/**
 * publish_dns: the customer's zone (found or created), every mail record, and
 * DNSSEC switched on. The DS and the nameservers are stored for the customer,
 * who must set them at their registrar.
 */
import { eq } from 'drizzle-orm';
import { servers } from '../../src/db/schema/index.ts';
import type { StepDefinition } from '../context.ts';
import { desiredRecords } from '../dns-records.ts';
import { currentIps } from '../ips.ts';
import { publishRecord, recordFacts } from '../records.ts';
import { ensureServerKeys } from '../server-keys.ts';

export const publishDns: StepDefinition = {
  name: 'publish_dns',
  async run(ctx) {
    const { deps, log } = ctx;
    const server = await ensureServerKeys(deps, ctx.server.id);
    const zone = await deps.dns.ensureZone(server.domain);
    await deps.database.db.update(servers).set({ dnsZoneId: zone.id, nameServers: zone.nameServers, updatedAt: new Date() }).where(eq(servers.id, server.id));
    const ips = (await currentIps(deps, server.id)).filter((ip) => ip.state !== 'listed');
    const records = desiredRecords(await recordFacts(deps, server, ips));
    const actions: Record<string, string> = {};
    // One listing of the zone instead of one lookup per record: fewer calls, fewer chances to fail.
    const zoneRecords = await deps.dns.listRecords(zone.id);
    for (const record of records) {
      actions[record.purpose] = await publishRecord(deps, server, zone.id, record, zoneRecords);
      log(`${record.type} ${record.name}: ${actions[record.purpose]}`);
    }
    const dnssec = await deps.dns.enableDnssec(zone.id);
    await deps.database.db.update(servers).set({ dnssecStatus: dnssec.state, dnssecDs: dnssec.ds, updatedAt: new Date() }).where(eq(servers.id, server.id));
    log(`DNSSEC ${dnssec.state}${dnssec.ds ? `, DS ${dnssec.ds}` : ''}; nameservers ${zone.nameServers.join(', ')}`);
    return { zoneId: zone.id, records: actions, dnssec: dnssec.state };
  },
};
