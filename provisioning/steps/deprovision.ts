/**
 * The deprovision plan: DNS records mailplane created are deleted (the zone
 * and the customer's own records stay), the instance is terminated, and every
 * IP ever reserved for the server is released — found by id and by tag, so a
 * resource created just before a crash is not left behind.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { dnsRecords, serverIps, servers } from '../../src/db/schema/index.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { serverTag } from '../tags.ts';

export const deleteDnsRecords: StepDefinition = {
  name: 'delete_dns_records',
  async run({ deps, server, log }) {
    const rows = await deps.database.db.select().from(dnsRecords).where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.state, 'published')));
    if (!server.dnsZoneId) return { deleted: 0 };
    const live = await deps.dns.listRecords(server.dnsZoneId);
    let deleted = 0;
    for (const row of rows) {
      // By provider id, and by exact content in case the id was never saved.
      const matches = live.filter((r) => r.id === row.providerRecordId || (r.type === row.type && r.name === row.name && r.content === row.content));
      for (const r of matches) {
        await deps.dns.deleteRecord(server.dnsZoneId, r.id);
        deleted++;
      }
      await deps.database.db.update(dnsRecords).set({ state: 'deleted', updatedAt: new Date() }).where(eq(dnsRecords.id, row.id));
      log(`deleted ${row.type} ${row.name}`);
    }
    return { deleted };
  },
};

export const deleteServer: StepDefinition = {
  name: 'delete_server',
  async run({ deps, server, log }) {
    const zone = server.zone as Zone;
    const ids = new Set((await deps.compute.findServersByTag(zone, serverTag(server.id))).map((s) => s.id));
    if (server.providerServerId) ids.add(server.providerServerId);
    for (const id of ids) {
      await deps.compute.deleteServer(zone, id);
      log(`terminated instance ${id}`);
    }
    await deps.database.db.update(servers).set({ providerServerId: null, updatedAt: new Date() }).where(eq(servers.id, server.id));
    return { deleted: [...ids] };
  },
};

export const releaseIps: StepDefinition = {
  name: 'release_ips',
  async run({ deps, server, log }) {
    const zone = server.zone as Zone;
    const rows = await deps.database.db.select().from(serverIps).where(and(eq(serverIps.serverId, server.id), isNull(serverIps.releasedAt)));
    const ids = new Set(rows.map((r) => r.providerIpId));
    for (const ip of await deps.compute.findIpsByTag(zone, serverTag(server.id))) ids.add(ip.id);
    for (const id of ids) {
      await deps.compute.deleteIp(zone, id);
      log(`released IP ${id}`);
    }
    await deps.database.db.update(serverIps).set({ state: 'released', releasedAt: new Date() })
      .where(and(eq(serverIps.serverId, server.id), isNull(serverIps.releasedAt)));
    return { released: ids.size };
  },
};
