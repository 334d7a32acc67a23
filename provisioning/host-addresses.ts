/**
 * The address a server answers and sends from, for each of its IPs.
 *
 * A routed IPv4 is the address itself. A routed IPv6 is a whole /64 routed to the
 * instance, which configures only its SLAAC address in it (derived from its NIC's MAC,
 * reported in `public_ips`), so a new instance — a rebuild — would hold another one and
 * every record naming it (AAAA, SPF `ip6:`, PTR) would have to change. So mailplane
 * fixes the address itself: the prefix's first address (`prefix::1`), configured
 * statically on the host by the mail stack (mailplane-ipv6.service) and bound by
 * Postfix for outgoing mail (`smtp_bind_address6`). It moves with the flexible IP, so a
 * rebuilt server answers on the same address and DNS does not change. Servers that had
 * adopted their SLAAC address before are moved to it the next time this runs.
 */
import { eq } from 'drizzle-orm';
import { serverIps } from '../src/db/schema/index.ts';
import type { ComputeServer } from '../src/providers/compute/interface.ts';
import { firstAddressOf, sameIpv6 } from '../src/providers/compute/scaleway-ipv6.ts';
import type { ProvisioningDeps } from './context.ts';
import type { IpRow } from './ips.ts';

/** The address mailplane fixes in a routed IPv6 prefix. */
export const fixedIpv6 = (prefix: string) => firstAddressOf(prefix);

function addressFor(row: IpRow, instance: ComputeServer): string | undefined {
  if (row.family === 'ipv6') return row.prefix ? fixedIpv6(row.prefix) : undefined;
  return instance.publicIps.find((p) => p.id === row.providerIpId)?.address;
}

export async function adoptHostAddresses(deps: ProvisioningDeps, instance: ComputeServer, rows: IpRow[], log: (line: string) => void): Promise<IpRow[]> {
  const out: IpRow[] = [];
  for (const row of rows) {
    const address = addressFor(row, instance);
    const same = address !== undefined && (row.family === 'ipv6' ? sameIpv6(address, row.address) : address === row.address);
    if (!address || same) {
      out.push(row);
      continue;
    }
    await deps.database.db.update(serverIps).set({ address }).where(eq(serverIps.id, row.id));
    log(
      `${row.family} ${row.address} → ${address}: ${row.family === 'ipv6' ? 'the address mailplane fixes in the routed prefix' : 'the address the instance holds'}`,
    );
    out.push({ ...row, address });
  }
  return out;
}
