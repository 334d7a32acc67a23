/**
 * IP reservation and release shared by allocate_ips, check_blacklists and
 * deprovisioning. A reserved IP is recorded the moment the provider returns
 * it; if the process dies between the two, the next attempt finds the IP by
 * its server tag and adopts it instead of reserving another.
 */
import { and, eq, isNull, ne } from 'drizzle-orm';
import { serverIps } from '../src/db/schema/index.ts';
import type { IpFamily, Zone } from '../src/providers/compute/interface.ts';
import type { ProvisioningDeps, ServerRow } from './context.ts';
import { familyTag, MAILPLANE_TAG, serverTag } from './tags.ts';

export type IpRow = typeof serverIps.$inferSelect;

/** The IPs currently in use (not released) for a server. */
export async function currentIps(deps: ProvisioningDeps, serverId: string): Promise<IpRow[]> {
  return deps.database.db
    .select()
    .from(serverIps)
    .where(and(eq(serverIps.serverId, serverId), ne(serverIps.state, 'released')));
}

export async function ipHistory(deps: ProvisioningDeps, serverId: string, family?: IpFamily): Promise<IpRow[]> {
  const rows = await deps.database.db.select().from(serverIps).where(eq(serverIps.serverId, serverId));
  return family ? rows.filter((r) => r.family === family) : rows;
}

export async function reserveIp(deps: ProvisioningDeps, server: ServerRow, family: IpFamily, log: (l: string) => void): Promise<IpRow> {
  const zone = server.zone as Zone;
  const known = await ipHistory(deps, server.id);
  const knownIds = new Set(known.map((r) => r.providerIpId));
  // Adopt an IP we created but never recorded (crash between create and insert).
  const orphan = (await deps.compute.findIpsByTag(zone, serverTag(server.id))).find((ip) => ip.family === family && !knownIds.has(ip.id));
  const ip = orphan ?? (await deps.compute.createIp(zone, family, [MAILPLANE_TAG, serverTag(server.id), familyTag(family)]));
  log(`${orphan ? 'adopted' : 'reserved'} ${family} ${ip.address} (${ip.id})`);
  const [row] = await deps.database.db
    .insert(serverIps)
    .values({
      serverId: server.id,
      family,
      providerIpId: ip.id,
      address: ip.address,
      prefix: ip.prefix,
      state: 'reserved',
    })
    .onConflictDoNothing({ target: serverIps.providerIpId })
    .returning();
  if (row) return row;
  return (await deps.database.db.select().from(serverIps).where(eq(serverIps.providerIpId, ip.id)))[0]!;
}

/** Releases the IP at the provider, then records it as released (history is kept). */
export async function releaseIp(deps: ProvisioningDeps, server: ServerRow, ip: IpRow, log: (l: string) => void): Promise<void> {
  await deps.compute.deleteIp(server.zone as Zone, ip.providerIpId);
  await deps.database.db
    .update(serverIps)
    .set({ state: 'released', releasedAt: new Date() })
    .where(and(eq(serverIps.id, ip.id), isNull(serverIps.releasedAt)));
  log(`released ${ip.family} ${ip.address}`);
}
