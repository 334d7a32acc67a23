/**
 * The Scaleway emulator's state machine: flexible IPs with their IPAM
 * entries, servers with volumes and user data, and the timed state changes
 * (stopped → starting → running; running → stopping → gone on terminate).
 * Rules follow the real API where mailplane depends on them: `terminate`
 * only on a running server, `DELETE` only on a stopped one, IPs detached (not
 * released) when their server goes.
 */
import { randomUUID } from 'node:crypto';
import { firstAddressOf } from '../../providers/compute/scaleway-ipv6.ts';
import { AddressPool } from './addresses.ts';
import { ApiError, regionOfZone, type EmuIp, type EmuIpType, type EmuIpamIp, type EmuServer, type EmuVolume } from './model.ts';

/** What a powered-on instance is given: its id, name, user data and the addresses the host holds. */
export interface HostSpec {
  id: string;
  name: string;
  userData: ReadonlyMap<string, string>;
  ipv4: string[];
  ipv6: string[];
}

/**
 * A machine behind each emulated instance (the sandbox's real-host mode:
 * containers). The emulator stays the source of truth for states; the
 * lifecycle only makes a machine exist while the instance is powered on.
 * Errors are logged by the caller and leave the instance stopped.
 */
export interface HostLifecycle {
  /** Boot the machine (resolves once it is started, as Scaleway reports `running` before SSH is up). */
  powerOn(host: HostSpec): Promise<void>;
  /** Clean shutdown; the disk stays. */
  powerOff(id: string): Promise<void>;
  /** Restart in place (the `reboot` action). */
  reboot(host: HostSpec): Promise<void>;
  /** The instance and its disk are gone. */
  remove(id: string): Promise<void>;
}

export interface StateOptions {
  bootDelayMs: number;
  onIpCreated?: (ip: { id: string; address: string; family: 'ipv4' | 'ipv6' }) => void;
  lifecycle?: HostLifecycle;
  onLifecycleError?: (serverId: string, err: unknown) => void;
}

export class ScalewayState {
  readonly servers = new Map<string, EmuServer>();
  readonly ips = new Map<string, EmuIp>();
  readonly ipam = new Map<string, EmuIpamIp>();
  readonly volumes = new Map<string, EmuVolume>();
  private readonly pool = new AddressPool();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly opts: StateOptions;

  constructor(opts: StateOptions) {
    this.opts = opts;
  }

  /** Cancels pending state changes (emulator stop). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.opts.bootDelayMs);
    this.timers.add(timer);
  }

  /** The addresses a running instance answers on (what a real-host machine is configured with). */
  hostSpec(server: EmuServer): HostSpec {
    const attached = [...this.ips.values()].filter((ip) => ip.serverId === server.id);
    return {
      id: server.id, name: server.name, userData: server.userDataAtFirstBoot ?? server.userData,
      ipv4: attached.filter((ip) => ip.type === 'routed_ipv4').map((ip) => ip.address),
      ipv6: attached.filter((ip) => ip.type === 'routed_ipv6').map((ip) => firstAddressOf(ip.address)),
    };
  }

  /** Runs a lifecycle call; a failure stops the instance, as a failed boot does on Scaleway. */
  private machine(server: EmuServer, call: (l: HostLifecycle) => Promise<void>, then: () => void): void {
    const lifecycle = this.opts.lifecycle;
    if (!lifecycle) { this.later(then); return; }
    call(lifecycle).then(then, (err: unknown) => {
      this.opts.onLifecycleError?.(server.id, err);
      if (this.servers.get(server.id) === server) this.setState(server, 'stopped');
    });
  }

  server(zone: string, id: string): EmuServer {
    const s = this.servers.get(id);
    if (!s || s.zone !== zone) throw ApiError.notFound('instance_server', id);
    return s;
  }

  /** By id, or by address as the real API also accepts. */
  ip(zone: string, idOrAddress: string): EmuIp {
    const ip = this.ips.get(idOrAddress) ?? [...this.ips.values()].find((i) => i.address === idOrAddress);
    if (!ip || ip.zone !== zone) throw ApiError.notFound('instance_ip', idOrAddress);
    return ip;
  }

  createIp(zone: string, input: { type: EmuIpType; project: string; tags: string[]; server?: string | undefined }): EmuIp {
    if (input.server) this.server(zone, input.server);
    const v6 = input.type === 'routed_ipv6';
    const address = v6 ? this.pool.ipv6Prefix() : this.pool.ipv4();
    const now = new Date().toISOString();
    const ipamEntry: EmuIpamIp = {
      id: randomUUID(), region: regionOfZone(zone), zone, address: v6 ? address : `${address}/32`, isIpv6: v6,
      projectId: input.project, resourceId: '', tags: [], reverses: [], createdAt: now, updatedAt: now,
    };
    const ip: EmuIp = {
      id: randomUUID(), zone, type: input.type, address, project: input.project, tags: [...input.tags],
      reverse: null, serverId: input.server ?? null, ipamId: ipamEntry.id,
    };
    ipamEntry.resourceId = ip.id;
    this.ips.set(ip.id, ip);
    this.ipam.set(ipamEntry.id, ipamEntry);
    // Listeners (the DNSBL emulator) care about the address mailplane will use: ::1 of the prefix.
    this.opts.onIpCreated?.({ id: ip.id, address: v6 ? firstAddressOf(address) : address, family: v6 ? 'ipv6' : 'ipv4' });
    return ip;
  }

  updateIp(zone: string, id: string, patch: { reverse?: string | null; server?: string | null; tags?: string[] }): EmuIp {
    const ip = this.ip(zone, id);
    if (patch.server !== undefined) {
      if (patch.server !== null) this.server(zone, patch.server);
      ip.serverId = patch.server;
    }
    if (patch.reverse !== undefined) {
      if (ip.type === 'routed_ipv6' && patch.reverse) {
        throw ApiError.invalid('reverse of a routed IPv6 prefix is managed through IPAM');
      }
      ip.reverse = patch.reverse || null;
    }
    if (patch.tags !== undefined) ip.tags = [...patch.tags];
    return ip;
  }

  deleteIp(zone: string, id: string): void {
    const ip = this.ip(zone, id);
    this.ips.delete(ip.id);
    this.ipam.delete(ip.ipamId);
  }

  createServer(zone: string, input: {
    name: string; project: string; commercialType: string; image: string; tags: string[]; publicIps: string[]; orphan?: boolean;
  }): EmuServer {
    const ips = input.publicIps.map((id) => this.ip(zone, id));
    for (const ip of ips) {
      if (ip.serverId) throw ApiError.invalid(`IP ${ip.id} is already attached to server ${ip.serverId}`);
    }
    const now = new Date().toISOString();
    const server: EmuServer = {
      id: randomUUID(), zone, name: input.name, project: input.project, commercialType: input.commercialType,
      image: input.image, tags: [...input.tags], state: 'stopped', stateDetail: '', createdAt: now, modifiedAt: now,
      userData: new Map(), userDataAtFirstBoot: null, volumeIds: [], orphan: input.orphan ?? false,
    };
    const volume: EmuVolume = {
      id: randomUUID(), zone, name: `${input.name}-root`, size: 20_000_000_000, volumeType: 'l_ssd',
      project: input.project, serverId: server.id, createdAt: now,
    };
    server.volumeIds.push(volume.id);
    this.volumes.set(volume.id, volume);
    this.servers.set(server.id, server);
    for (const ip of ips) ip.serverId = server.id;
    return server;
  }

  private setState(server: EmuServer, state: EmuServer['state']): void {
    server.state = state;
    server.stateDetail = state === 'running' ? 'booted' : state === 'starting' ? 'provisioning node' : '';
    server.modifiedAt = new Date().toISOString();
  }

  action(zone: string, id: string, action: string): void {
    const server = this.server(zone, id);
    switch (action) {
      case 'poweron':
        if (server.state !== 'stopped') throw ApiError.invalid('server should be stopped');
        if (!server.userDataAtFirstBoot) server.userDataAtFirstBoot = new Map(server.userData);
        this.setState(server, 'starting');
        this.machine(server, (l) => l.powerOn(this.hostSpec(server)), () => {
          if (this.servers.get(id) === server && server.state === 'starting') this.setState(server, 'running');
        });
        return;
      case 'poweroff':
        if (server.state !== 'running') throw ApiError.invalid('server should be running');
        this.setState(server, 'stopping');
        this.machine(server, (l) => l.powerOff(server.id), () => { if (this.servers.get(id) === server) this.setState(server, 'stopped'); });
        return;
      case 'reboot':
        if (server.state !== 'running') throw ApiError.invalid('server should be running');
        this.setState(server, 'starting');
        this.machine(server, (l) => l.reboot(this.hostSpec(server)), () => {
          if (this.servers.get(id) === server && server.state === 'starting') this.setState(server, 'running');
        });
        return;
      case 'terminate':
        // Real API: terminate is not in a stopped server's allowed_actions.
        if (server.state !== 'running') throw ApiError.invalid('server should be running');
        this.setState(server, 'stopping');
        this.machine(server, async (l) => { await l.powerOff(server.id); await l.remove(server.id); }, () => this.remove(server, true));
        return;
      default:
        throw ApiError.invalid(`action ${action} is not supported by the emulator`);
    }
  }

  /** DELETE /servers/{id}: only when stopped; local volumes stay behind. */
  deleteServer(zone: string, id: string): void {
    const server = this.server(zone, id);
    if (server.state !== 'stopped') throw ApiError.invalid('instance should be powered off');
    this.remove(server, false);
    // The machine's disk goes with the instance (the emulator keeps no detached volumes' contents).
    this.opts.lifecycle?.remove(server.id).catch((err: unknown) => this.opts.onLifecycleError?.(server.id, err));
  }

  private remove(server: EmuServer, withVolumes: boolean): void {
    if (this.servers.get(server.id) !== server) return;
    this.servers.delete(server.id);
    for (const ip of this.ips.values()) if (ip.serverId === server.id) ip.serverId = null;
    for (const volumeId of server.volumeIds) {
      if (withVolumes) this.volumes.delete(volumeId);
      else { const v = this.volumes.get(volumeId); if (v) v.serverId = null; }
    }
  }

  deleteVolume(zone: string, id: string): void {
    const volume = this.volumes.get(id);
    if (!volume || volume.zone !== zone) throw ApiError.notFound('instance_volume', id);
    if (volume.serverId) throw ApiError.invalid('volume is attached to a server');
    this.volumes.delete(id);
  }

  ipamIp(region: string, id: string): EmuIpamIp {
    const entry = this.ipam.get(id);
    if (!entry || entry.region !== region) throw ApiError.notFound('ipam_ip', id);
    return entry;
  }
}
