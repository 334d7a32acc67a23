/**
 * Scaleway emulator: the Instance v1 and IPAM v1 endpoints mailplane uses,
 * in the real wire format, so the official SDK runs unchanged against it
 * (point the client's apiURL here). State lives in memory; tests and the
 * sandbox inspect it in-process or through GET /__sandbox/state.
 */
import { Hono } from 'hono';
import { sameIpv6 } from '../../providers/compute/scaleway-ipv6.ts';
import { FaultInjector, type FaultProfile } from '../faults.ts';
import { serveOnLoopbackPreferring, type RunningServer } from '../serve.ts';
import { registerBlockRoutes } from './block-routes.ts';
import { registerImageRoutes } from './image-routes.ts';
import { InstanceCatalogue } from './catalogue.ts';
import { registerProductRoutes } from './product-routes.ts';
import { registerInstanceRoutes } from './instance-routes.ts';
import { registerIpamRoutes } from './ipam-routes.ts';
import { SecurityGroups, registerSecurityGroupRoutes, type EmuSecurityGroup } from './security-groups.ts';
import { ApiError, type EmuImage, type EmuIp, type EmuIpamIp, type EmuServer, type EmuSnapshot, type EmuVolume } from './model.ts';
import { ScalewayState, type ForwardCheck, type HostLifecycle } from './state.ts';
import { errorResponse, ipJson, ipamJson, serverJson } from './wire.ts';

export interface ScalewayEmulatorOptions {
  faults?: FaultProfile;
  /** How long starting → running (and stopping → stopped/gone) takes. Default 0: on the next tick. */
  bootDelayMs?: number;
  /** How long a Block snapshot stays `creating` (emulated hosts; real hosts copy their disk). Default 0. */
  snapshotDelayMs?: number;
  onIpCreated?: (ip: { id: string; address: string; family: 'ipv4' | 'ipv6' }) => void;
  /** Real machines behind the instances (SANDBOX_HOSTS=container); default: none, states are timed. */
  lifecycle?: HostLifecycle;
  onLifecycleError?: (serverId: string, err: unknown) => void;
  /** Called when an instance is terminated or deleted (the SSH emulator drops the host's files). */
  onServerRemoved?: (serverId: string) => void;
  /** Refuse reverses whose forward record does not resolve yet (the sandbox asks its DNS). Default: accept. */
  forwardCheck?: ForwardCheck;
  /** Outbound SMTP blocked account-wide (a new Scaleway account's default). Default: open. */
  smtpBlocked?: boolean;
  /** Other Scaleway APIs served at the same base URL (the sandbox adds IAM, for Object Storage keys). */
  extraRoutes?: (app: Hono) => void;
}

export interface EmulatedServer {
  id: string;
  zone: string;
  name: string;
  state: EmuServer['state'];
  tags: string[];
  ipIds: string[];
  orphan: boolean;
}

export interface EmulatedIp {
  id: string;
  zone: string;
  family: 'ipv4' | 'ipv6';
  /** IPv4 address or IPv6 prefix (CIDR). */
  address: string;
  tags: string[];
  serverId: string | null;
  reverse: string | null;
}

export interface ScalewaySnapshot {
  servers: (Omit<EmuServer, 'userData' | 'userDataAtFirstBoot'> & { userData: [string, string][]; userDataAtFirstBoot: [string, string][] | null })[];
  ips: EmuIp[];
  ipam: EmuIpamIp[];
  volumes: EmuVolume[];
  securityGroups: EmuSecurityGroup[];
  pool: { nextV4: number; nextV6: number; nextMac: number };
  /** Absent in snapshots taken before custom images were emulated. */
  snapshots?: EmuSnapshot[];
  images?: EmuImage[];
}

const SANDBOX_PROJECT = '00000000-0000-4000-8000-000000000001';

export class ScalewayEmulator {
  readonly faults: FaultInjector;
  /** What each zone sells (recorded catalogue); tests change availability through it. */
  readonly catalogue = new InstanceCatalogue();
  private readonly state: ScalewayState;
  private readonly groups = new SecurityGroups();
  private readonly app = new Hono();
  private running: RunningServer | null = null;

  constructor(opts: ScalewayEmulatorOptions = {}) {
    this.faults = new FaultInjector(opts.faults);
    this.state = new ScalewayState({
      bootDelayMs: opts.bootDelayMs ?? 0,
      ...(opts.snapshotDelayMs ? { snapshotDelayMs: opts.snapshotDelayMs } : {}),
      ...(opts.onIpCreated ? { onIpCreated: opts.onIpCreated } : {}),
      ...(opts.lifecycle ? { lifecycle: opts.lifecycle } : {}),
      ...(opts.onLifecycleError ? { onLifecycleError: opts.onLifecycleError } : {}),
      ...(opts.onServerRemoved ? { onServerRemoved: opts.onServerRemoved } : {}),
      ...(opts.forwardCheck ? { forwardCheck: opts.forwardCheck } : {}),
    });
    this.app.onError((err, c) => {
      if (err instanceof ApiError) return errorResponse(c, err);
      return c.json({ message: 'internal error', type: 'internal_error' }, 500);
    });
    this.app.get('/__sandbox/state', (c) =>
      c.json({
        servers: [...this.state.servers.values()].map((s) => ({ ...serverJson(s, this.state), user_data_keys: [...s.userData.keys()] })),
        ips: [...this.state.ips.values()].map((ip) => ipJson(ip, this.state)),
        ipam: [...this.state.ipam.values()].map((e) => ipamJson(e, this.state)),
        volumes: this.listVolumes(),
        faults: this.faults.current,
      }),
    );
    this.app.use(
      '*',
      this.faults.middleware((c, status) =>
        c.json(
          status === 429
            ? { message: 'rate limit exceeded', type: 'too_many_requests', help_message: 'slow down' }
            : { message: 'internal error', type: 'internal_error' },
          status,
        ),
      ),
    );
    // Like the real API: no X-Auth-Token, no entry.
    this.app.use('*', async (c, next) => {
      if (c.req.path.startsWith('/__sandbox')) return next();
      if (!c.req.header('X-Auth-Token')) {
        return c.json({ message: 'authentication is denied', method: 'api_key', reason: 'not_found', type: 'denied_authentication' }, 401);
      }
      return next();
    });
    this.groups.smtpBlocked = opts.smtpBlocked ?? false;
    this.groups.onChange = () => {
      for (const listener of this.smtpListeners) listener(this.groups.smtpBlocked);
    };
    this.app.post('/__sandbox/smtp/open', (c) => {
      this.setSmtpBlocked(false);
      return c.json({ smtpBlocked: false });
    });
    // Another process's sandbox (the bench's) adopts a cached baked image the same way.
    this.app.post('/__sandbox/images/adopt', async (c) => {
      const body = (await c.req.json()) as { zone: string; snapshotId: string; name: string; tags: string[]; sizeBytes: number };
      return c.json(this.adoptImage(body), 201);
    });
    registerProductRoutes(this.app, this.catalogue);
    registerInstanceRoutes(this.app, this.state, this.groups, this.catalogue);
    registerSecurityGroupRoutes(this.app, this.state, this.groups);
    registerIpamRoutes(this.app, this.state);
    registerBlockRoutes(this.app, this.state);
    registerImageRoutes(this.app, this.state);
    opts.extraRoutes?.(this.app);
    this.app.notFound((c) => c.json({ message: `no route for ${c.req.method} ${c.req.path}`, type: 'not_found' }, 404));
  }

  /** `port`: the one it had before a restart, kept when still free. */
  async start(port?: number): Promise<void> {
    if (!this.running) this.running = await serveOnLoopbackPreferring(this.app, port);
  }

  async stop(): Promise<void> {
    this.state.dispose();
    await this.running?.close();
    this.running = null;
  }

  get url(): string {
    if (!this.running) throw new Error('ScalewayEmulator is not started');
    return this.running.url;
  }

  listServers(): EmulatedServer[] {
    return [...this.state.servers.values()].map((s) => this.viewServer(s));
  }

  /** One server by id: a lookup, where listServers() views every server (each view scans the IPs). */
  server(id: string): EmulatedServer | null {
    const s = this.state.servers.get(id);
    return s ? this.viewServer(s) : null;
  }

  listIps(): EmulatedIp[] {
    return [...this.state.ips.values()].map((ip) => this.viewIp(ip));
  }

  /** Volumes (Block Storage ones survive their server, as on the real API). */
  listVolumes(): { id: string; zone: string; serverId: string | null; type: 'l_ssd' | 'sbs_volume'; tags: string[]; sizeBytes: number }[] {
    return [...this.state.volumes.values()].map((v) => ({
      id: v.id,
      zone: v.zone,
      serverId: v.serverId,
      type: v.volumeType,
      tags: [...v.tags],
      sizeBytes: v.size,
    }));
  }

  /**
   * The account's SMTP state: blocked as on a new Scaleway account, open once Scaleway enabled
   * SMTP on it. Opening the account does not open existing groups: each is enabled through the
   * API (or the console's "Enable SMTP"), as on Scaleway.
   */
  setSmtpBlocked(blocked: boolean): void {
    this.groups.smtpBlocked = blocked;
    this.groups.changed();
  }

  /** Called whenever the account's or a group's block changes (real-host mode enforces it in the hosts' network). */
  onSmtpBlockChange(listener: (blocked: boolean) => void): void {
    this.smtpListeners.add(listener);
  }

  private readonly smtpListeners = new Set<(blocked: boolean) => void>();

  get smtpBlocked(): boolean {
    return this.groups.smtpBlocked;
  }

  /** Whether this server can connect out to port 25 (what the emulated host's probe finds). */
  outboundSmtpOpen(serverId: string): boolean {
    const server = this.state.servers.get(serverId);
    return server ? this.groups.outboundSmtpOpen(server.securityGroupId) : false;
  }

  /** The addresses of every instance that may not send on port 25 (real-host mode rejects them at the router). */
  smtpBlockedAddresses(): { ipv4: string[]; ipv6: string[] } {
    const blocked = [...this.state.servers.values()].filter((s) => !this.groups.outboundSmtpOpen(s.securityGroupId)).map((s) => this.state.hostSpec(s));
    // The whole routed prefix: an address the host configures in it is blocked as its SLAAC one is.
    return { ipv4: blocked.flatMap((h) => h.ipv4), ipv6: blocked.flatMap((h) => h.ipv6Prefixes) };
  }

  /** Security groups (id, tags, servers using it), for tests. */
  listSecurityGroups(): {
    id: string;
    zone: string;
    tags: string[];
    inboundPorts: number[];
    inboundRules: { port: number; range: string }[];
    servers: string[];
    smtpBlocked: boolean;
  }[] {
    return [...this.groups.groups.values()].map((g) => ({
      id: g.id,
      zone: g.zone,
      tags: [...g.tags],
      smtpBlocked: this.groups.enableDefaultSecurity(g),
      inboundPorts: g.rules.filter((r) => r.direction === 'inbound' && r.action === 'accept' && r.dest_port_from !== null).map((r) => r.dest_port_from!),
      inboundRules: g.rules
        .filter((r) => r.direction === 'inbound' && r.action === 'accept' && r.dest_port_from !== null)
        .map((r) => ({ port: r.dest_port_from!, range: r.ip_range })),
      servers: [...this.state.servers.values()].filter((s) => s.securityGroupId === g.id).map((s) => s.id),
    }));
  }

  /** Who answers whether a reverse's forward record resolves (the sandbox wires its DNS in). */
  setForwardCheck(check: ForwardCheck | undefined): void {
    this.state.forwardCheck = check;
  }

  /** A person (or Scaleway maintenance) stopped the instance in place: powered off, still on its hypervisor. */
  stopInPlace(serverId: string): void {
    const server = this.state.servers.get(serverId);
    if (!server) throw new Error(`no server ${serverId}`);
    this.state.action(server.zone, serverId, 'stop_in_place');
  }

  /** The IPv6 address the instance holds (SLAAC in its routed /64), as its public_ips report it. */
  hostIpv6(serverId: string): string | null {
    const server = this.state.servers.get(serverId);
    return server ? (this.state.hostSpec(server).ipv6[0] ?? null) : null;
  }

  userData(serverId: string, key = 'cloud-init'): string | null {
    return this.state.servers.get(serverId)?.userData.get(key) ?? null;
  }

  /** User data as it stood at the server's first power-on (null: never booted or key absent). */
  userDataAtFirstBoot(serverId: string, key = 'cloud-init'): string | null {
    return this.state.servers.get(serverId)?.userDataAtFirstBoot?.get(key) ?? null;
  }

  serverByIpv4(address: string): EmulatedServer | null {
    const ip = [...this.state.ips.values()].find((i) => i.type === 'routed_ipv4' && i.address === address && i.serverId);
    const server = ip?.serverId ? this.state.servers.get(ip.serverId) : undefined;
    return server ? this.viewServer(server) : null;
  }

  /** PTR of an address: the Instance `reverse` for IPv4, the IPAM reverse for IPv6. */
  reverseOf(address: string): string | null {
    if (!address.includes(':')) {
      return [...this.state.ips.values()].find((i) => i.type === 'routed_ipv4' && i.address === address)?.reverse ?? null;
    }
    for (const entry of this.state.ipam.values()) {
      const hit = entry.reverses.find((r) => r.address !== null && sameIpv6(r.address, address));
      if (hit) return hit.hostname;
    }
    return null;
  }

  /** Everything the account holds, as JSON (the sandbox persists it across restarts). */
  snapshot(): ScalewaySnapshot {
    return {
      servers: [...this.state.servers.values()].map((s) => ({
        ...s,
        userData: [...s.userData],
        userDataAtFirstBoot: s.userDataAtFirstBoot ? [...s.userDataAtFirstBoot] : null,
      })),
      ips: [...this.state.ips.values()],
      ipam: [...this.state.ipam.values()],
      volumes: [...this.state.volumes.values()],
      securityGroups: [...this.groups.groups.values()],
      pool: this.state.pool.counters,
      snapshots: [...this.state.images.snapshots.values()],
      images: [...this.state.images.images.values()],
    };
  }

  /**
   * Takes back a snapshot (before start). A state change in flight when the sandbox stopped
   * has finished meanwhile: starting → running, stopping → stopped.
   */
  restore(snap: ScalewaySnapshot): void {
    for (const s of snap.servers) {
      const state = s.state === 'starting' ? 'running' : s.state === 'stopping' ? 'stopped' : s.state;
      this.state.servers.set(s.id, {
        ...s,
        state,
        userData: new Map(s.userData),
        userDataAtFirstBoot: s.userDataAtFirstBoot ? new Map(s.userDataAtFirstBoot) : null,
      });
    }
    for (const ip of snap.ips) this.state.ips.set(ip.id, ip);
    for (const e of snap.ipam) this.state.ipam.set(e.id, e);
    for (const v of snap.volumes) this.state.volumes.set(v.id, v);
    for (const g of snap.securityGroups) this.groups.groups.set(g.id, g);
    // A copy in flight when the sandbox stopped was lost with it.
    for (const s of snap.snapshots ?? []) this.state.images.snapshots.set(s.id, s.status === 'creating' ? { ...s, status: 'error' } : s);
    for (const i of snap.images ?? []) this.state.images.images.set(i.id, i);
    this.state.pool.counters = snap.pool;
  }

  /** The account's custom images (every zone), for tests and the sandbox. */
  listImages(): { id: string; zone: string; name: string; tags: string[]; snapshotId: string; state: string }[] {
    return [...this.state.images.images.values()].map((i) => ({
      id: i.id,
      zone: i.zone,
      name: i.name,
      tags: [...i.tags],
      snapshotId: i.rootSnapshotId,
      state: i.state,
    }));
  }

  listSnapshots(): { id: string; zone: string; name: string; status: string; volumeId: string; sizeBytes: number }[] {
    return [...this.state.images.snapshots.values()].map((s) => ({
      id: s.id,
      zone: s.zone,
      name: s.name,
      status: s.status,
      volumeId: s.parentVolume.id,
      sizeBytes: s.size,
    }));
  }

  /** The image a server was created from (an image id or a stock label). */
  imageOf(serverId: string): string | null {
    return this.state.servers.get(serverId)?.image ?? null;
  }

  /**
   * An image the account already has, made from a snapshot whose disk exists already (the
   * real-host test harness keeps one baked image across test files, each with a fresh emulator).
   */
  adoptImage(input: { zone: string; snapshotId: string; name: string; tags: string[]; sizeBytes: number }): { id: string } {
    const now = new Date().toISOString();
    this.state.images.snapshots.set(input.snapshotId, {
      id: input.snapshotId,
      zone: input.zone,
      name: input.name,
      project: SANDBOX_PROJECT,
      tags: [...input.tags],
      size: input.sizeBytes,
      parentVolume: { id: crypto.randomUUID(), name: `${input.name}_sbs_volume_0` },
      status: 'available',
      createdAt: now,
      updatedAt: now,
    });
    const image = this.state.images.createImage(input.zone, {
      name: input.name,
      rootVolume: input.snapshotId,
      project: SANDBOX_PROJECT,
      tags: input.tags,
      arch: 'x86_64',
    });
    return { id: image.id };
  }

  /** A server created behind mailplane's back (reconciliation tests). */
  createOrphanServer(zone: string, tags: string[]): EmulatedServer {
    const server = this.state.createServer(zone, {
      name: `orphan-${Math.random().toString(36).slice(2, 8)}`,
      project: SANDBOX_PROJECT,
      commercialType: 'DEV1-S',
      image: 'debian_bookworm',
      tags,
      publicIps: [],
      orphan: true,
    });
    return this.viewServer(server);
  }

  /** A detached Block Storage volume, as a terminated instance leaves behind (reconciliation tests). */
  createOrphanVolume(zone: string, tags: string[]): { id: string } {
    const now = new Date().toISOString();
    const id = crypto.randomUUID();
    this.state.volumes.set(id, {
      id,
      zone,
      name: 'debian_bookworm_sbs_volume_0',
      size: 10_000_000_000,
      volumeType: 'sbs_volume',
      project: SANDBOX_PROJECT,
      serverId: null,
      tags: [...tags],
      createdAt: now,
      updatedAt: now,
    });
    return { id };
  }

  private viewServer(s: EmuServer): EmulatedServer {
    const ipIds = [...this.state.ips.values()].filter((ip) => ip.serverId === s.id).map((ip) => ip.id);
    return { id: s.id, zone: s.zone, name: s.name, state: s.state, tags: [...s.tags], ipIds, orphan: s.orphan };
  }

  private viewIp(ip: EmuIp): EmulatedIp {
    return {
      id: ip.id,
      zone: ip.zone,
      family: ip.type === 'routed_ipv6' ? 'ipv6' : 'ipv4',
      address: ip.address,
      tags: [...ip.tags],
      serverId: ip.serverId,
      reverse: ip.reverse,
    };
  }
}
