/**
 * Scaleway SDK shapes → the ComputeProvider's domain shapes.
 */
import type { Instancev1 } from '@scaleway/sdk-instance';
import type { ComputeServer, FlexibleIp, ServerState, Zone } from './interface.ts';
import { firstAddressOf } from './scaleway-ipv6.ts';

type Ip = Instancev1.Ip;
type Server = Instancev1.Server;

export function regionOf(zone: Zone): string {
  return zone.replace(/-\d+$/, '');
}

/**
 * A routed IPv6 flexible IP is a whole /64: the API reports it in `prefix`
 * (and, depending on the API version, also as `address` in CIDR form). The
 * domain wants the prefix and the first usable address inside it.
 */
export function toFlexibleIp(ip: Ip, zone: Zone): FlexibleIp {
  const raw = ip.address ?? '';
  const v6 = ip.type === 'routed_ipv6' || raw.includes(':') || (ip.prefix ?? '').includes(':');
  if (v6) {
    const prefix = ip.prefix && ip.prefix.includes(':') ? ip.prefix : raw.includes('/') ? raw : `${raw}/64`;
    return {
      id: ip.id, zone, family: 'ipv6', address: firstAddressOf(prefix), prefix,
      serverId: ip.server?.id ?? null, tags: ip.tags ?? [], reverse: ip.reverse || null,
    };
  }
  return {
    id: ip.id, zone, family: 'ipv4', address: raw.split('/')[0] ?? raw, prefix: null,
    serverId: ip.server?.id ?? null, tags: ip.tags ?? [], reverse: ip.reverse || null,
  };
}

const STATES: Record<string, ServerState> = {
  running: 'running',
  stopped: 'stopped',
  // Stopped but still allocated on its hypervisor: for us, stopped.
  'stopped in place': 'stopped',
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
  };
}
