/**
 * The address a server really holds for each of its IPs. A routed IPv6 is a
 * whole /64 and the instance configures only its SLAAC address in it (derived
 * from its MAC, reported in the server's `public_ips` once the IP is attached);
 * `prefix::1` exists nowhere. So the address reserved with the IP is a
 * stand-in, replaced here by the one the host answers and sends from, before
 * any DNS record, SPF `ip6:` or PTR names it.
 */
import { eq } from 'drizzle-orm';
import { serverIps } from '../src/db/schema/index.ts';
import type { ComputeServer } from '../src/providers/compute/interface.ts';
import { sameIpv6 } from '../src/providers/compute/scaleway-ipv6.ts';
import type { ProvisioningDeps } from './context.ts';
import type { IpRow } from './ips.ts';

export async function adoptHostAddresses(deps: ProvisioningDeps, instance: ComputeServer, rows: IpRow[], log: (line: string) => void): Promise<IpRow[]> {
  const out: IpRow[] = [];
  for (const row of rows) {
    const held = instance.publicIps.find((p) => p.id === row.providerIpId)?.address;
    const same = held !== undefined && (row.family === 'ipv6' ? sameIpv6(held, row.address) : held === row.address);
    if (!held || same) { out.push(row); continue; }
    await deps.database.db.update(serverIps).set({ address: held }).where(eq(serverIps.id, row.id));
    log(`${row.family} ${row.address} → ${held}: the address the instance holds`);
    out.push({ ...row, address: held });
  }
  return out;
}
