/**
 * The Scaleway emulator's state machine: flexible IPs with their IPAM
 * entries, servers with volumes and user data, and the timed state changes
 * (stopped → starting → running; running → stopping → gone on terminate).
 * Rules follow the real API where mailplane depends on them (its recorded
 * `allowed_actions`): `terminate` on a running server or one stopped in
 * place, `DELETE` only on a stopped one, IPs detached (not
 * released) when their server goes.
 */
import { randomUUID } from 'node:crypto';
import { firstAddressOf } from '../../providers/compute/scaleway-ipv6.ts';
import { AddressPool } from './addresses.ts';
import { ImageStore } from './images.ts';
import { ApiError, regionOfZone, type EmuIp, type EmuIpType, type EmuIpamIp, type EmuServer, type EmuVolume } from './model.ts';
import { defaultIpv6Reverses, slaacAddress } from './slaac.ts';

/** What a powered-on instance is given: its id, name, user data and the addresses the host holds. */
export interface HostSpec {
  id: string;
  name: string;
  userData: ReadonlyMap<string, string>;
  ipv4: string[];
  /** The SLAAC address in each routed /64: what the instance configures by itself. */
  ipv6: string[];
  /**
   * The routed IPv6 prefixes (/64) attached: Scaleway routes each whole prefix to the instance
   * (its NIC), so any address in it the host configures answers, wherever the prefix moves.
   */
  ipv6Prefixes: string[];
  /** The instance's NIC address (its SLAAC IPv6 derives from it): the same at every boot. */
  macAddress: string;
  /** The snapshot its boot volume was made from (a custom image), null for the stock image. */
  bootSnapshot: string | null;
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
  /** A Block Storage snapshot of the machine's disk as it is now (kept under the snapshot's id). */
  snapshotDisk?(id: string, snapshotId: string): Promise<void>;
  /** The snapshot is deleted: its copy of the disk goes. */
  dropSnapshot?(snapshotId: string): Promise<void>;
}

/**
 * Whether Scaleway's resolver sees `hostname` resolve to `address` (forward
 * A/AAAA). Scaleway refuses a reverse until it does. Absent: always.
 */
export type ForwardCheck = (hostname: string, address: string) => boolean | Promise<boolean>;

export interface StateOptions {
  bootDelayMs: number;
  /** How long a snapshot stays `creating` without a real disk to copy. Default 0: the next tick. */
  snapshotDelayMs?: number;
  forwardCheck?: ForwardCheck;
  onIpCreated?: (ip: { id: string; address: string; family: 'ipv4' | 'ipv6' }) => void;
  lifecycle?: HostLifecycle;
  onLifecycleError?: (serverId: string, err: unknown) => void;
  /** An instance is gone (terminated or deleted): whatever stands in for its disk goes too. */
  onServerRemoved?: (serverId: string) => void;
}

export class ScalewayState {
  readonly servers = new Map<string, EmuServer>();
  readonly ips = new Map<string, EmuIp>();
  readonly ipam = new Map<string, EmuIpamIp>();
  readonly volumes = new Map<string, EmuVolume>();
  readonly pool = new AddressPool();
  /** Block snapshots and the custom images made from them. */
  readonly images: ImageStore = new ImageStore(this);
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

  private later(fn: () => void, delayMs = this.opts.bootDelayMs): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, delayMs);
    this.timers.add(timer);
  }

  /** The addresses a running instance answers on (what a real-host machine is configured with). */
  hostSpec(server: EmuServer): HostSpec {
    const attached = [...this.ips.values()].filter((ip) => ip.serverId === server.id);
    return {
      // What the metadata API serves now: mailplane clears it after harden.
      id: server.id,
      name: server.name,
      userData: server.userData,
      macAddress: server.macAddress,
      bootSnapshot: this.volumes.get(server.volumeIds[0] ?? '')?.parentSnapshotId ?? null,
      ipv4: attached.filter((ip) => ip.type === 'routed_ipv4').map((ip) => ip.address),
      // The SLAAC address: the only one an instance configures in its routed /64 (what public_ips reports).
      ipv6: attached.filter((ip) => ip.type === 'routed_ipv6').map((ip) => slaacAddress(ip.address, server.macAddress)),
      ipv6Prefixes: attached.filter((ip) => ip.type === 'routed_ipv6').map((ip) => ip.address),
    };
  }

  /** Runs a lifecycle call; a failure stops the instance, as a failed boot does on Scaleway. */
  private machine(server: EmuServer, call: (l: HostLifecycle) => Promise<void>, then: () => void): void {
    const lifecycle = this.opts.lifecycle;
    if (!lifecycle) {
      this.later(then);
      return;
    }
    call(lifecycle).then(then, (err: unknown) => {
      this.opts.onLifecycleError?.(server.id, err);
      if (this.servers.get(server.id) === server) this.setState(server, 'stopped');
    });
  }

  /** Copies a volume's disk into a snapshot: the machine's in real-host mode, a timer otherwise. */
  copyDisk(serverId: string | null, snapshotId: string, done: (ok: boolean) => void): void {
    const lifecycle = this.opts.lifecycle;
    if (!lifecycle?.snapshotDisk) {
      this.later(() => done(true), this.opts.snapshotDelayMs ?? 0);
      return;
    }
    if (!serverId) {
      done(false);
      return;
    }
    lifecycle.snapshotDisk(serverId, snapshotId).then(
      () => done(true),
      (err: unknown) => {
        this.opts.onLifecycleError?.(serverId, err);
        done(false);
      },
    );
  }

  dropDisk(snapshotId: string): void {
    this.opts.lifecycle?.dropSnapshot?.(snapshotId).catch((err: unknown) => this.opts.onLifecycleError?.(snapshotId, err));
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
    // A routed flexible IP and its IPAM entry share one id (recorded: `ipam_id` equals `id`).
    const id = randomUUID();
    const ipamEntry: EmuIpamIp = {
      id,
      region: regionOfZone(zone),
      zone,
      address: v6 ? address : `${address}/32`,
      isIpv6: v6,
      projectId: input.project,
      tags: [],
      reverses: [],
      createdAt: now,
      updatedAt: now,
    };
    const ip: EmuIp = {
      id,
      zone,
      type: input.type,
      address,
      project: input.project,
      tags: [...input.tags],
      reverse: null,
      serverId: null,
      ipamId: id,
    };
    this.ips.set(ip.id, ip);
    this.ipam.set(ipamEntry.id, ipamEntry);
    if (input.server) this.attach(ip, this.server(zone, input.server));
    // Listeners (the DNSBL emulator) care about the address mailplane will use: ::1 of the prefix.
    this.opts.onIpCreated?.({ id: ip.id, address: v6 ? firstAddressOf(address) : address, family: v6 ? 'ipv6' : 'ipv4' });
    return ip;
  }

  updateIp(zone: string, id: string, patch: { reverse?: string | null; server?: string | null; tags?: string[] }): EmuIp {
    const ip = this.ip(zone, id);
    if (patch.server !== undefined) {
      if (patch.server !== null) this.attach(ip, this.server(zone, patch.server));
      else ip.serverId = null;
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

  /** The address a server holds from this IP: the IPv4 itself, or its SLAAC address in the /64. */
  hostAddress(ip: EmuIp): string | null {
    const server = ip.serverId ? this.servers.get(ip.serverId) : undefined;
    if (ip.type === 'routed_ipv4') return ip.address;
    return server ? slaacAddress(ip.address, server.macAddress) : null;
  }

  /** Attaching a routed IPv6 gives its IPAM entry Scaleway's default reverses (prefix and SLAAC address). */
  private attach(ip: EmuIp, server: EmuServer): void {
    ip.serverId = server.id;
    const entry = this.ipam.get(ip.ipamId);
    if (entry && ip.type === 'routed_ipv6' && entry.reverses.length === 0) {
      entry.reverses = defaultIpv6Reverses(ip.address, slaacAddress(ip.address, server.macAddress));
    }
  }

  /** Refuses a reverse whose forward record Scaleway's resolver cannot see (400 invalid_arguments). */
  async checkReverse(hostname: string, address: string): Promise<void> {
    const check = this.opts.forwardCheck;
    if (check && !(await check(hostname.replace(/\.$/, ''), address))) throw ApiError.reverseMustResolve(hostname, address);
  }

  set forwardCheck(check: ForwardCheck | undefined) {
    if (check) this.opts.forwardCheck = check;
    else delete this.opts.forwardCheck;
  }

  deleteIp(zone: string, id: string): void {
    const ip = this.ip(zone, id);
    this.ips.delete(ip.id);
    this.ipam.delete(ip.ipamId);
  }

  createServer(
    zone: string,
    input: {
      name: string;
      project: string;
      commercialType: string;
      image: string;
      tags: string[];
      publicIps: string[];
      orphan?: boolean;
      rootVolumeType?: EmuVolume['volumeType'];
      rootVolumeBytes?: number;
      securityGroupId?: string | null;
      /** A custom image's snapshot and name (ImageStore.bootSource); absent: a stock image label. */
      boot?: { snapshotId: string | null; name: string };
    },
  ): EmuServer {
    const ips = input.publicIps.map((id) => this.ip(zone, id));
    for (const ip of ips) {
      if (ip.serverId) throw ApiError.invalid(`IP ${ip.id} is already attached to server ${ip.serverId}`);
    }
    const now = new Date().toISOString();
    const server: EmuServer = {
      id: randomUUID(),
      zone,
      name: input.name,
      project: input.project,
      commercialType: input.commercialType,
      image: input.image,
      tags: [...input.tags],
      state: 'stopped',
      stateDetail: '',
      createdAt: now,
      modifiedAt: now,
      userData: new Map(),
      userDataAtFirstBoot: null,
      volumeIds: [],
      macAddress: this.pool.mac(),
      orphan: input.orphan ?? false,
      securityGroupId: input.securityGroupId ?? null,
    };
    // Current Debian images boot from a Block Storage volume made from the image's 10 GB snapshot, or as large as asked.
    const volume: EmuVolume = {
      id: randomUUID(),
      zone,
      name: `${input.boot?.name ?? input.image}_sbs_volume_0`,
      size: input.rootVolumeBytes ?? 10_000_000_000,
      volumeType: input.rootVolumeType ?? 'sbs_volume',
      project: input.project,
      serverId: server.id,
      tags: [],
      createdAt: now,
      updatedAt: now,
      parentSnapshotId: input.boot?.snapshotId ?? null,
    };
    server.volumeIds.push(volume.id);
    this.volumes.set(volume.id, volume);
    this.servers.set(server.id, server);
    for (const ip of ips) this.attach(ip, server);
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
        if (server.state !== 'stopped' && server.state !== 'stopped in place') throw ApiError.invalid('server should be stopped');
        if (!server.userDataAtFirstBoot) server.userDataAtFirstBoot = new Map(server.userData);
        this.setState(server, 'starting');
        this.machine(
          server,
          (l) => l.powerOn(this.hostSpec(server)),
          () => {
            if (this.servers.get(id) === server && server.state === 'starting') this.setState(server, 'running');
          },
        );
        return;
      case 'poweroff':
        // From `stopped in place` too (recorded allowed_actions): it releases the hypervisor.
        if (server.state !== 'running' && server.state !== 'stopped in place') throw ApiError.invalid('server should be running');
        this.setState(server, 'stopping');
        this.machine(
          server,
          (l) => l.powerOff(server.id),
          () => {
            if (this.servers.get(id) === server) this.setState(server, 'stopped');
          },
        );
        return;
      case 'reboot':
        if (server.state !== 'running' && server.state !== 'stopped in place') throw ApiError.invalid('server should be running');
        this.setState(server, 'starting');
        this.machine(
          server,
          (l) => l.reboot(this.hostSpec(server)),
          () => {
            if (this.servers.get(id) === server && server.state === 'starting') this.setState(server, 'running');
          },
        );
        return;
      case 'stop_in_place':
        // Powered off but kept on its hypervisor (left by poweron, poweroff, reboot or terminate).
        if (server.state !== 'running') throw ApiError.invalid('server should be running');
        this.setState(server, 'stopping');
        this.machine(
          server,
          (l) => l.powerOff(server.id),
          () => {
            if (this.servers.get(id) === server) this.setState(server, 'stopped in place');
          },
        );
        return;
      case 'terminate':
        // Real API: terminate is in a running or stopped-in-place server's allowed_actions, not a stopped one's.
        if (server.state !== 'running' && server.state !== 'stopped in place') throw ApiError.invalid('server should be running');
        this.setState(server, 'stopping');
        this.machine(
          server,
          async (l) => {
            await l.powerOff(server.id);
            await l.remove(server.id);
          },
          () => this.remove(server, true),
        );
        return;
      default:
        throw ApiError.invalid(`action ${action} is not supported by the emulator`);
    }
  }

  /** DELETE /servers/{id}: only when stopped (not `stopped in place`); volumes stay behind. */
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
    this.opts.onServerRemoved?.(server.id);
    for (const ip of this.ips.values()) if (ip.serverId === server.id) ip.serverId = null;
    for (const volumeId of server.volumeIds) {
      const v = this.volumes.get(volumeId);
      if (!v) continue;
      // terminate deletes local volumes only; Block Storage volumes are detached and stay (billed).
      if (withVolumes && v.volumeType === 'l_ssd') this.volumes.delete(volumeId);
      else {
        v.serverId = null;
        v.updatedAt = new Date().toISOString();
      }
    }
  }

  /** Instance API: local volumes only; a Block Storage volume is not an instance_volume. */
  deleteVolume(zone: string, id: string): void {
    const volume = this.volumes.get(id);
    if (!volume || volume.zone !== zone || volume.volumeType !== 'l_ssd') throw ApiError.notFound('instance_volume', id);
    if (volume.serverId) throw ApiError.invalid('volume is attached to a server');
    this.volumes.delete(id);
  }

  /** Block API view of a Block Storage volume. */
  blockVolume(zone: string, id: string): EmuVolume {
    const volume = this.volumes.get(id);
    if (!volume || volume.zone !== zone || volume.volumeType !== 'sbs_volume') throw ApiError.notFound('volume', id);
    return volume;
  }

  deleteBlockVolume(zone: string, id: string): void {
    const volume = this.blockVolume(zone, id);
    if (volume.serverId) throw ApiError.preconditionFailed('resource_still_in_use', 'volume is still attached to a server');
    this.volumes.delete(id);
  }

  ipamIp(region: string, id: string): EmuIpamIp {
    const entry = this.ipam.get(id);
    if (!entry || entry.region !== region) throw ApiError.notFound('ipam_ip', id);
    return entry;
  }
}
