/**
 * Scaleway SDK shapes → the ComputeProvider's domain shapes.
 */
import type { Blockv1 } from '@scaleway/sdk-block';
import type { Instancev1 } from '@scaleway/sdk-instance';
import type { ComputeServer, ComputeVolume, FlexibleIp, ServerState, Zone } from './interface.ts';
import { firstAddressOf } from './scaleway-ipv6.ts';

type Ip = Instancev1.Ip;
type Server = Instancev1.Server;

export function regionOf(zone: Zone): string {
  return zone.replace(/-\d+$/, '');
}

/**
 * A routed IPv6 flexible IP is a whole /64: the API reports `address: null`
 * and the /64 in `prefix` (older answers put the CIDR in `address`). Until it
 * is attached no host address exists, so the domain gets the prefix and its
 * first address as a stand-in; the server's `public_ips` later say which
 * address the host really holds (its SLAAC address).
 */
export function toFlexibleIp(ip: Ip, zone: Zone): FlexibleIp {
  const raw = ip.address ?? '';
  const v6 = ip.type === 'routed_ipv6' || raw.includes(':') || (ip.prefix ?? '').includes(':');
  if (v6) {
    const prefix = ip.prefix?.includes(':') ? ip.prefix : raw.includes('/') ? raw : `${raw}/64`;
    return {
      id: ip.id,
      zone,
      family: 'ipv6',
      address: firstAddressOf(prefix),
      prefix,
      serverId: ip.server?.id ?? null,
      tags: ip.tags ?? [],
      reverse: ip.reverse || null,
    };
  }
  return {
    id: ip.id,
    zone,
    family: 'ipv4',
    address: raw.split('/')[0] ?? raw,
    prefix: null,
    serverId: ip.server?.id ?? null,
    tags: ip.tags ?? [],
    reverse: ip.reverse || null,
  };
}

const STATES: Record<string, ServerState> = {
  running: 'running',
  stopped: 'stopped',
  // Powered off but still on its hypervisor: DELETE refuses it; `terminate` is allowed (recorded allowed_actions).
  'stopped in place': 'stopped_in_place',
  starting: 'starting',
  stopping: 'stopping',
  locked: 'locked',
};

export function toComputeServer(server: Server, zone: Zone): ComputeServer {
  return {
    id: server.id,
    zone,
    name: server.name,
    state: STATES[server.state] ?? 'unknown',
    commercialType: server.commercialType,
    tags: server.tags ?? [],
    ipIds: (server.publicIps ?? []).filter((ip) => !ip.dynamic).map((ip) => ip.id),
    publicIps: (server.publicIps ?? [])
      .filter((ip) => !ip.dynamic && ip.address)
      .map((ip) => ({
        id: ip.id,
        family: ip.family === 'inet6' ? ('ipv6' as const) : ('ipv4' as const),
        address: ip.address,
      })),
    volumeIds: Object.values(server.volumes ?? {}).map((v) => v.id),
    securityGroupId: server.securityGroup?.id ?? null,
    imageId: server.image?.id ?? null,
  };
}

export function toComputeVolume(volume: Blockv1.Volume, zone: Zone): ComputeVolume {
  const attached = volume.references.find((r) => r.productResourceType === 'instance_server' && r.status !== 'detached');
  return { id: volume.id, zone, tags: volume.tags ?? [], serverId: attached?.productResourceId ?? null };
}
