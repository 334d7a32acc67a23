/**
 * Compute: servers and routed flexible IPs (Scaleway Instance + IPAM).
 * Every mutating call is safe to repeat: deleting something already gone
 * succeeds, and find-by-tag lets a step that crashed after "create" but before
 * saving the id find what it created instead of creating it again.
 */
export const ZONES = ['fr-par-1', 'fr-par-2', 'fr-par-3', 'nl-ams-1', 'nl-ams-2', 'nl-ams-3', 'pl-waw-1', 'pl-waw-2', 'pl-waw-3'] as const;
export type Zone = (typeof ZONES)[number];

export type IpFamily = 'ipv4' | 'ipv6';

export interface FlexibleIp {
  id: string;
  zone: Zone;
  family: IpFamily;
  /**
   * IPv4 address; for IPv6 the first address of the routed /64 (e.g. 2001:db8:1:2::1), only a stand-in
   * until the IP is attached: the host then holds its SLAAC address, which ComputeServer.publicIps reports.
   */
  address: string;
  /** For IPv6: the routed prefix in CIDR form (2001:db8:1:2::/64). */
  prefix: string | null;
  serverId: string | null;
  tags: string[];
  /** IPv4 reverse (PTR) hostname, or null. */
  reverse: string | null;
}

export type ServerState = 'stopped' | 'stopped_in_place' | 'starting' | 'running' | 'stopping' | 'locked' | 'unknown';

export interface ComputeServer {
  id: string;
  zone: Zone;
  name: string;
  state: ServerState;
  commercialType: string;
  tags: string[];
  ipIds: string[];
  /**
   * The addresses the instance really holds, per attached flexible IP: for a routed IPv6 /64
   * this is the SLAAC address (derived from the MAC), the one to publish and to set a PTR for.
   */
  publicIps: { id: string; family: IpFamily; address: string }[];
  /** Volumes attached to it (the boot volume is Block Storage on current images). */
  volumeIds: string[];
  /** Its security group (where Scaleway's outbound SMTP block lives), when the API names one. */
  securityGroupId: string | null;
  /** The image it was created from (an image id; a stock image's id or label). */
  imageId: string | null;
}

/** A Block Storage snapshot of a volume: `creating` until the copy is done, then usable for an image. */
export interface ComputeSnapshot {
  id: string;
  zone: Zone;
  status: 'creating' | 'available' | 'in_use' | 'error' | 'other';
  sizeBytes: number;
  tags: string[];
}

/** A custom image (per zone) over one snapshot of a boot volume. */
export interface ComputeImage {
  id: string;
  zone: Zone;
  name: string;
  tags: string[];
  state: 'available' | 'creating' | 'error' | 'other';
  snapshotId: string | null;
  createdAt: string | null;
}

/** A Block Storage volume (the boot disk outlives its instance unless deleted). */
export interface ComputeVolume {
  id: string;
  zone: Zone;
  tags: string[];
  /** The instance it is attached to, or null once detached. */
  serverId: string | null;
}

export interface CreateServerInput {
  zone: Zone;
  name: string;
  commercialType: string;
  /** Image label or id, e.g. "debian_bookworm". */
  image: string;
  /** cloud-init user data; set before the first power-on. */
  cloudInit: string;
  tags: string[];
  /** Flexible IPs (ids) to attach at creation. */
  ipIds: string[];
  /** The server's own security group (ensureSecurityGroup); absent: the project's default group. */
  securityGroupId?: string;
  /** Size of the Block Storage boot volume; absent: the image's own (10 GB on Scaleway). */
  rootVolumeBytes?: number;
}

/** Stock of a type in a zone, as Scaleway reports it; `shortage`: cannot be created now. */
export type TypeAvailability = 'available' | 'scarce' | 'shortage' | 'unknown';

/** A commercial type a zone sells. */
export interface ServerTypeOffer {
  commercialType: string;
  availability: TypeAvailability;
}

/** Inbound firewall in front of a server, kept by the provider (Scaleway security group). */
export interface SecurityGroupInput {
  name: string;
  tags: string[];
  /** The only TCP ports open inbound, IPv4 and IPv6; everything else inbound is dropped (ICMP stays). */
  inboundTcpPorts: number[];
  /** TCP ports open inbound only from these addresses or CIDRs (SSH: the control plane's addresses). */
  restrictedTcpPorts?: Array<{ port: number; sources: string[] }>;
}

export interface ComputeSecurityGroup {
  id: string;
  zone: Zone;
  tags: string[];
  /**
   * Scaleway blocks outbound SMTP from this group's servers while this is true. The block is
   * per group: it can be lifted (requestOutboundSmtp) only once the account may send mail, and a
   * group created before that stays blocked until it is asked again.
   */
  smtpBlockedByProvider: boolean;
  serverIds: string[];
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

export interface ComputeProvider {
  createIp(zone: Zone, family: IpFamily, tags: string[]): Promise<FlexibleIp>;
  getIp(zone: Zone, ipId: string): Promise<FlexibleIp | null>;
  findIpsByTag(zone: Zone, tag: string): Promise<FlexibleIp[]>;
  /** Deleting an IP that no longer exists succeeds. */
  deleteIp(zone: Zone, ipId: string): Promise<void>;
  attachIp(zone: Zone, ipId: string, serverId: string): Promise<void>;
  detachIp(zone: Zone, ipId: string): Promise<void>;

  /**
   * The commercial types a zone sells and their stock (Scaleway: products/servers joined with
   * products/servers/availability). Cached by the adapter for a while; a stale answer is kept when
   * the API fails. Throws a ProviderError when it has never been read.
   */
  serverTypes(zone: Zone): Promise<ServerTypeOffer[]>;
  /** Creates the server stopped, with user data set, then returns it. */
  createServer(input: CreateServerInput): Promise<ComputeServer>;
  getServer(zone: Zone, serverId: string): Promise<ComputeServer | null>;
  findServersByTag(zone: Zone, tag: string): Promise<ComputeServer[]>;
  powerOn(zone: Zone, serverId: string): Promise<void>;
  /** Sets (replaces) the server's `cloud-init` user data; read by cloud-init at the next boot. */
  setUserData(zone: Zone, serverId: string, cloudInit: string): Promise<void>;
  /**
   * Deletes the server's `cloud-init` user data from the metadata API once the
   * server has booted: it carried the SSH host private key. Already gone = success.
   */
  clearUserData(zone: Zone, serverId: string): Promise<void>;
  /** Polls with its own loop and the injected clock until `state` or timeout (retryable ProviderError). */
  waitForState(zone: Zone, serverId: string, state: ServerState, opts: WaitOptions): Promise<ComputeServer>;
  /**
   * Removes the server and every volume it had (local and Block Storage); flexible IPs are detached,
   * not deleted. Gone already = success, and volumes left by an earlier attempt are still removed
   * (they carry the server's tags, see createServer).
   */
  deleteServer(zone: Zone, serverId: string): Promise<void>;
  /** Finds the group by its tags or creates it, then sets exactly its inbound rules. Idempotent. */
  ensureSecurityGroup(zone: Zone, input: SecurityGroupInput): Promise<ComputeSecurityGroup>;
  findSecurityGroupsByTag(zone: Zone, tag: string): Promise<ComputeSecurityGroup[]>;
  /**
   * Asks the provider to lift the outbound SMTP block on an existing group (Scaleway: "Enable SMTP",
   * `enable_default_security: false`) and returns the group as it now is: still blocked while the
   * account is not allowed to send mail. Idempotent.
   */
  requestOutboundSmtp(zone: Zone, groupId: string): Promise<ComputeSecurityGroup>;
  /** Deleting a group already gone succeeds; a group still used by a server is refused (retryable). */
  deleteSecurityGroup(zone: Zone, groupId: string): Promise<void>;
  /** Block Storage volumes carrying `tag` (createServer gives the boot volume the server's tags). */
  findVolumesByTag(zone: Zone, tag: string): Promise<ComputeVolume[]>;
  /** Deletes a detached Block Storage volume; already gone = success. */
  deleteVolume(zone: Zone, volumeId: string): Promise<void>;

  /** Powers the server off (`stopped`, its disk kept); already stopped = success. Does not wait. */
  powerOff(zone: Zone, serverId: string): Promise<void>;
  /** A snapshot of a Block Storage volume (Block API); poll getSnapshot until `available`. */
  snapshotVolume(zone: Zone, volumeId: string, input: { name: string; tags: string[] }): Promise<ComputeSnapshot>;
  getSnapshot(zone: Zone, snapshotId: string): Promise<ComputeSnapshot | null>;
  /** Deleting a snapshot already gone succeeds; one an image still uses is refused. */
  deleteSnapshot(zone: Zone, snapshotId: string): Promise<void>;
  /** A custom image in the snapshot's zone, booting from that snapshot. */
  createImage(zone: Zone, input: { name: string; snapshotId: string; tags: string[] }): Promise<ComputeImage>;
  getImage(zone: Zone, imageId: string): Promise<ComputeImage | null>;
  /** The account's images in a zone carrying every tag given. */
  findImagesByTag(zone: Zone, tags: string[]): Promise<ComputeImage[]>;
  /** Deleting an image already gone succeeds; its snapshot stays until deleted. */
  deleteImage(zone: Zone, imageId: string): Promise<void>;

  /** IPv4 PTR through the Instance IP `reverse` field. */
  setIpv4Reverse(zone: Zone, ipId: string, hostname: string): Promise<void>;
  /** PTR for one address inside a routed IPv6 /64, through IPAM. */
  setIpv6Reverse(zone: Zone, ipId: string, address: string, hostname: string): Promise<void>;

  /** Everything carrying `tag` in every zone (reconciliation). */
  listTagged(tag: string): Promise<{ servers: ComputeServer[]; ips: FlexibleIp[]; volumes: ComputeVolume[]; securityGroups: ComputeSecurityGroup[] }>;
}
